"""NovaOps developer tools."""
