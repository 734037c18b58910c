"""Signed webhooks to the call center: CloudEvents sent at least once, in order per subject
(delivery.py), signed as Standard Webhooks (signing.py), with subscriptions and deliveries kept by
store.py.

Owns the tables webhook_subscriptions, webhook_deliveries and webhook_attempts (statements in
queries/webhooks.sql).

The fan-out is not done here: the SQL trigger `fan_out_webhooks()` on outbox_events inserts a
delivery row for every active subscription that wants the event's type; its file is in
outbox/webhooks/migrations/ (first applied by migration 0005_webhooks.sql). It stays a trigger so that
a delivery row commits in the same transaction as its event, whatever package wrote the event:
diagnostics writes the events and may not import outbox, and a worker reading events after
the fact could pass over one whose transaction committed late.
"""
