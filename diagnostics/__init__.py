"""Diagnostics: the worker that turns stored telemetry into care (catalog, rules, tickets, campaigns)."""
