"""Signed webhooks to the call center."""
