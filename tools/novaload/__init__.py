"""novaload: a bounded load generator that behaves like Nova agents (see load.py)."""
