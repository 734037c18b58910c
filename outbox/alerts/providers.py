"""Message providers behind one interface: an SMS gateway, a Kakao Alimtalk dealer, and the sink.

Each HTTP adapter posts one JSON request per message through Ondol's outbound client (short
timeouts, no redirects, only the start of the answer read). Provider endpoints are operator
configuration, not user input, so any address they name is allowed. An answer says whether the
message was accepted, and if not, whether trying again could help: a 4xx (a number without
KakaoTalk, an unknown template) is permanent for that provider, so the next one in the chain (SMS)
is tried; a 5xx or a timeout is transient, so the alert is retried later.

The sink provider records what it would have sent in the database, where the API shows it: the
local stack uses it, so a developer sees what a customer would have received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final, Protocol

from diagnostics.messages.texts import sms_class
from outbox.alerts import sink_store
from outbox.outbound_guard import BlockedDestinationError, OutboundPolicy, resolve
from outbox.outbound_http import OutboundClient
from telemetry.database import Pool

__all__ = [
    "AlimtalkDealer",
    "MessageProvider",
    "OutboundMessage",
    "SendOutcome",
    "SinkProvider",
    "SmsGateway",
]

_OPERATOR_CONFIGURED: Final = OutboundPolicy.allowing(("0.0.0.0/0", "::/0"))


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    alert_id: int
    recipient: str
    text: str
    template_code: str
    """The Alimtalk template the text was rendered from (SMS ignores it)."""
    link: str | None = None
    """The case's page for this contact (also in the text): Alimtalk shows it as a button."""


@dataclass(frozen=True, slots=True)
class SendOutcome:
    ok: bool
    message_id: str | None = None
    error: str | None = None
    permanent: bool = False
    """Trying this provider again will not help (fall back to the next one)."""


class MessageProvider(Protocol):
    name: str
    channel: str
    """'sms' or 'kakao'."""

    async def send(self, message: OutboundMessage) -> SendOutcome: ...


class _HttpProvider:
    """POST a JSON body to the provider's endpoint; 2xx is accepted, 4xx permanent, the rest transient."""

    name = "http"
    channel = "sms"

    def __init__(self, url: str, credential: str, client: OutboundClient) -> None:
        self._url = url
        self._credential = credential
        self._client = client

    def body(self, message: OutboundMessage) -> dict[str, object]:
        raise NotImplementedError

    async def send(self, message: OutboundMessage) -> SendOutcome:
        try:
            target = await resolve(self._url, _OPERATOR_CONFIGURED)
        except BlockedDestinationError as exc:
            return SendOutcome(False, error=f"{self.name}: {exc}")
        payload = json.dumps(self.body(message), ensure_ascii=False).encode()
        headers = {"content-type": "application/json", "idempotency-key": f"alert-{message.alert_id}"}
        if self._credential:
            headers["authorization"] = f"Bearer {self._credential}"
        answer = await self._client.post(target, payload, headers)
        if answer.status_code is not None and 200 <= answer.status_code < 300:
            return SendOutcome(True, message_id=_message_id(answer.excerpt))
        error = f"{self.name}: {answer.error or f'HTTP {answer.status_code}: {answer.excerpt[:200]}'}"
        permanent = (
            answer.status_code is not None and 400 <= answer.status_code < 500 and answer.status_code != 429
        )
        return SendOutcome(False, error=error, permanent=permanent)


class SmsGateway(_HttpProvider):
    name = "sms-gateway"
    channel = "sms"

    def __init__(self, url: str, api_key: str, sender: str, client: OutboundClient) -> None:
        super().__init__(url, api_key, client)
        self._sender = sender

    def body(self, message: OutboundMessage) -> dict[str, object]:
        return {
            "to": message.recipient,
            "from": self._sender,
            "text": message.text,
            "type": sms_class(message.text),
            "ref": str(message.alert_id),
        }


class AlimtalkDealer(_HttpProvider):
    name = "alimtalk-dealer"
    channel = "kakao"

    def body(self, message: OutboundMessage) -> dict[str, object]:
        # The dealer checks the text against the registered template; SMS fallback is ours, not its.
        body: dict[str, object] = {"template_code": message.template_code, "to": message.recipient,
                                   "text": message.text, "ref": str(message.alert_id)}  # fmt: skip
        if message.link:
            body["buttons"] = [{"type": "WL", "name": "확인하기", "url_mobile": message.link}]
        return body


class SinkProvider:
    """Records the message instead of sending it (shown by GET /v1/alert-sink)."""

    def __init__(self, pool: Pool, channel: str) -> None:
        self.name = f"sink-{channel}"
        self.channel = channel
        self._pool = pool

    async def send(self, message: OutboundMessage) -> SendOutcome:
        async with self._pool.acquire() as conn:
            message_id = await sink_store.record_sink_message(
                conn, alert_id=message.alert_id, channel=self.channel, recipient=message.recipient,
                template_code=message.template_code if self.channel == "kakao" else None, body=message.text,
            )  # fmt: skip
        return SendOutcome(True, message_id=f"sink-{message_id}")


def _message_id(excerpt: str) -> str | None:
    try:
        value = json.loads(excerpt).get("message_id")
    except (ValueError, AttributeError):
        return None
    return str(value)[:200] if value is not None else None
