"""Diagnostics: the worker that turns stored telemetry into care (catalog, rules, tickets, campaigns).

This top level owns the service point registry (service_points: service_points.py), the model
warranty lengths (model_warranty: warranty.py) and the call center's events (outbox_events:
call_center_events.py, a transactional outbox written by the feature packages below in the
transaction of each change). Each feature package names the tables it owns.
"""
