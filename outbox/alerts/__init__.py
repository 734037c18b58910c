"""Customer alerts to phones: the SMS gateway, KakaoTalk Alimtalk and sink providers (providers.py)
and the worker that sends each pending alert through its contact's chain of them (delivery.py).

Owns the table `alert_sink_messages`, what the sink provider would have sent (GET /v1/alert-sink;
sink_store.py). The alerts themselves, the `customer_alerts` rows, belong to diagnostics/messages,
which writes them in the transaction that decided them. This package only records their delivery
there (claimed, sent, deferred to the end of quiet hours, retried, closed unsent), through
diagnostics.messages.store.
"""
