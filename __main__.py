"""NovaOps: seven database tiers, monitoring and division hosts on Docker.

The topology comes from components/catalog.yaml plus this stack's config; it is
validated before any resource is declared.
"""

from components.stack import build_stack, load_topology

build_stack(load_topology())
