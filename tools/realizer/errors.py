class RealizerError(Exception):
    """A failure the realizer reports as a one-line message (exit code 1)."""
