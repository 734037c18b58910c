"""The HTTP API for the call center and installers: devices, their telemetry and the quarantine, over FastAPI."""
