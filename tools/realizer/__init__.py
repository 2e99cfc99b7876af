"""Local realizer: run the Pulumi program under mocks and apply its docker resources locally.

A test harness, not a Pulumi replacement; see README.md beside this file.

    from tools.realizer import realize, teardown, load_outputs, RealizerError
"""

from .api import RealizeResult, load_outputs, realize, secret_output_names, teardown
from .apply import Action
from .errors import RealizerError

__all__ = ["Action", "RealizeResult", "RealizerError", "load_outputs", "realize", "secret_output_names", "teardown"]
