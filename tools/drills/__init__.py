"""Resilience drills (see __main__.py)."""
