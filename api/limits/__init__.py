"""Limits on what a caller may send: body size and request rate."""
