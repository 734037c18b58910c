"""Delivery workers that are not HTTP servers: call-center webhooks and customer alerts."""
