"""Customer alerts to phones: SMS and KakaoTalk Alimtalk providers.

Owns the table `alert_sink_messages` (the sink provider's record: sink_store.py). The alerts
themselves (`customer_alerts`) belong to diagnostics/messages; their delivery state is recorded
through its store's functions.
"""
