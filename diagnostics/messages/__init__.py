"""What customers are told: alert texts per language, quiet hours, and the alerts themselves.

Owns customer_alerts (store.py). The fault engine and the escalation of unacknowledged safety alerts
write them, outbox/alerts records their delivery and the API erases a person's, all through the
store's functions; the campaign's reminders are still inserted by a statement of
diagnostics/campaigns (insert_reminders).
"""
