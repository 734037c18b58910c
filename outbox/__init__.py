"""Delivery workers that are not HTTP servers: call-center webhooks (webhooks/) and customer alerts
(alerts/), each sending at least once through the one outbound client and its address guard
(outbound_http.py, outbound_guard.py).

Their work arrives as rows that diagnostics writes in the transaction that decided it (outbox events,
customer alerts). A worker claims the due rows, sends them, records each outcome, and rides out a
store outage with the store's polling loop (telemetry.database.poll_until_stopped). Each subpackage
names the tables it owns.
"""
