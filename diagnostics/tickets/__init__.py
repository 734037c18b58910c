"""A/S tickets: the lifecycle and reading tickets for agents."""
