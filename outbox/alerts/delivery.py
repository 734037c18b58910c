"""The customer-alert worker: sends each pending alert to its contact through the provider chain
of the contact's channel, at least once, honouring consent and quiet hours.

Alerts are rows (migration 0003, 0009) written by the diagnostics engine in the transaction that
decided them. A pass claims the due ones (moved a lease ahead and counted as an attempt), sends
them concurrently and records each outcome. Killed at any moment, the worker loses nothing: a
claimed alert whose outcome was not recorded is due again when its lease runs out, and providers
get the alert id as an idempotency key.

- Consent: a contact who declined alerts is skipped (recorded, not sent).
- Truth: an alert whose fault case was resolved, or whose ticket ended, while it waited is withdrawn
  (recorded, not sent); the engine withdraws such alerts when that happens, this is the last check.
- Quiet hours (the contact's, Korean time): guidance waits until they end; safety, emergency and
  escalation alerts do not wait; inspection reminders also wait out the night, 21:00 to 08:00.
- Advertising (an inspection offered, not a fault found) reaches only contacts who consented to
  marketing; the others' reminders are skipped, recorded with the reason.
- The link: a message whose template has one gets the case's page link for this contact, made
  when it is sent (the token is derived, never stored; the same on every resend).
- Channel: KakaoTalk contacts get Alimtalk, with SMS when Alimtalk refuses the message; SMS
  contacts get SMS. A refused message (4xx) tries the next provider; a provider that is down (5xx,
  timeout) is retried with backoff, every few seconds for safety alerts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from diagnostics.customer_link.service import issue_token
from diagnostics.customer_link.tokens import LinkSecret
from diagnostics.messages import store as alert_store
from diagnostics.messages.quiet_hours import (
    ADVERTISING_KINDS,
    REMINDER_KINDS,
    quiet_until,
    reminder_quiet_until,
)
from diagnostics.messages.store import ClaimedAlert
from diagnostics.messages.texts import LINK_PLACEHOLDER, alimtalk_code, with_link
from outbox.alerts.providers import (
    AlimtalkDealer,
    MessageProvider,
    OutboundMessage,
    SendOutcome,
    SinkProvider,
    SmsGateway,
)
from outbox.outbound_http import OutboundClient
from protocol.backoff import Backoff
from telemetry.database import Connection, Pool, create_pool_when_ready, poll_until_stopped

__all__ = [
    "URGENT_KINDS",
    "AlertConfig",
    "AlertDeliverer",
    "LinkSettings",
    "ProviderSettings",
    "provider_chains",
    "quiet_until",
    "run_alert_worker",
]

log = logging.getLogger(__name__)

URGENT_KINDS: Final = frozenset({"safety", "emergency", "escalation"})
"""Alert kinds sent at any hour and retried every few seconds."""


@dataclass(frozen=True)
class AlertConfig:
    batch: int = 100
    lease_s: float = 30.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 600.0
    urgent_backoff_cap_s: float = 5.0
    give_up_after_s: float = 24 * 3600.0
    idle_poll_s: float = 0.1

    def retry(self, *, urgent: bool) -> Backoff:
        """How an alert whose provider is down is retried: doubling from the base with equal jitter;
        urgent kinds up to their own cap of a few seconds."""
        return Backoff(self.backoff_base_s, self.urgent_backoff_cap_s if urgent else self.backoff_cap_s)


@dataclass(frozen=True)
class LinkSettings:
    """How the link in a message is made: the secret tokens come from (ONDOL_LINK_SECRET), the public
    address of the pages (ONDOL_PUBLIC_URL) and how long a link stays valid after its last message."""

    secret: LinkSecret
    base_url: str
    valid_for: timedelta = timedelta(days=30)

    def url(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/c/{token}"


class AlertDeliverer:
    def __init__(
        self,
        pool: Pool,
        chains: Mapping[str, Sequence[MessageProvider]],
        config: AlertConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        links: LinkSettings | None = None,
    ) -> None:
        """`chains`: the providers to try, in order, for each preferred channel ('sms', 'kakao').
        `clock`: what quiet hours, age and backoff are measured against (tests set the hour).
        `links`: how case links are made (None: messages go without one)."""
        self._pool = pool
        self._chains = chains
        self._config = config
        self._clock = clock
        self._links = links
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a database outage is waited out."""
        await poll_until_stopped(self.deliver_due, stop, self._config.idle_poll_s, what="alert delivery")

    async def deliver_due(self) -> int:
        """One pass: claim what is due, handle it, record the outcomes. How many were handled."""
        async with self._pool.acquire() as conn:
            rows = await alert_store.claim_due(conn, batch=self._config.batch, lease_s=self._config.lease_s)
        if rows:
            await asyncio.gather(*(self._handle(row) for row in rows))
        return len(rows)

    async def _handle(self, row: ClaimedAlert) -> None:
        claim = row.claim
        async with self._pool.acquire() as conn:
            if unsent := self._not_to_send(row):
                status, reason = unsent
                await alert_store.close_unsent(conn, claim, status=status, reason=reason)
                return
            if until := self._quiet_until(row):
                await alert_store.defer(conn, claim, until=until, reason="quiet hours")
                return
            link = await self._link(conn, row)
        outcome, provider = await self._send(row, link)
        async with self._pool.acquire() as conn:
            if outcome.ok and provider is not None:
                await alert_store.mark_sent(conn, claim, provider=provider.name, channel=provider.channel,
                                            message_id=outcome.message_id)  # fmt: skip
                self.sent += 1
            elif outcome.permanent or self._too_old(row):
                await alert_store.close_unsent(
                    conn, claim, status="failed", reason=outcome.error or "refused"
                )
            else:
                await alert_store.retry_later(
                    conn, claim, at=self._next_attempt(row), error=outcome.error or ""
                )

    def _quiet_until(self, row: ClaimedAlert) -> datetime | None:
        """When the alert may go out, if not now: urgent kinds go at any hour, reminders never at night."""
        now = self._clock()
        contact = row.contact
        if row.kind in URGENT_KINDS or contact is None:  # (no contact: never sent, see _not_to_send)
            return None
        if row.kind in REMINDER_KINDS:
            return reminder_quiet_until(now, contact.quiet_start, contact.quiet_end)
        return quiet_until(now, contact.quiet_start, contact.quiet_end)

    def _not_to_send(self, row: ClaimedAlert) -> tuple[str, str] | None:
        """The status and reason with which the alert ends unsent, or None to send it."""
        if row.stale_reason:
            return "withdrawn", row.stale_reason  # its case was resolved or its ticket ended
        if row.contact is None:
            return "skipped", "contact removed"
        if not row.contact.consent_alerts:
            return "skipped", "no consent to alerts"
        if row.kind in ADVERTISING_KINDS and not row.contact.consent_marketing:
            return "skipped", "no consent to advertising"
        if self._too_old(row):
            return "failed", "too old"  # news of a fault long past (after an outage of the worker, say)
        return None

    async def _link(self, conn: Connection, row: ClaimedAlert) -> str | None:
        """The case's page for this contact, when the message has a place for it."""
        if (
            self._links is None
            or row.case_id is None
            or LINK_PLACEHOLDER not in row.message_ko + row.message_en
        ):
            return None
        token = await issue_token(
            conn, self._links.secret, case_id=row.case_id, device_id=row.device_id, phone=row.phone,
            language=row.contact.language if row.contact is not None else "ko",
            valid_for=self._links.valid_for, now=self._clock(),
        )  # fmt: skip
        return None if token is None else self._links.url(token)

    async def _send(self, row: ClaimedAlert, link: str | None) -> tuple[SendOutcome, MessageProvider | None]:
        """Try the contact's chain in order: the first acceptance; on a refusal (4xx) the next
        provider; on a provider that is down or timed out, stop and retry later (it may have
        delivered, and falling back could send the message twice)."""
        language = row.contact.language if row.contact is not None else None
        message = OutboundMessage(
            alert_id=row.alert_id, recipient=row.phone,
            text=with_link(row.message_en if language == "en" else row.message_ko, link),
            template_code=alimtalk_code(row.kind), link=link,
        )  # fmt: skip
        errors: list[str] = []
        for provider in self._chains.get(row.channel, self._chains["sms"]):
            outcome = await provider.send(message)
            if outcome.ok:
                return outcome, provider
            errors.append(outcome.error or provider.name)
            if not outcome.permanent:
                return SendOutcome(False, error="; ".join(errors)[:500], permanent=False), None
        return SendOutcome(False, error="; ".join(errors)[:500], permanent=True), None

    def _too_old(self, row: ClaimedAlert) -> bool:
        age: timedelta = self._clock() - row.created_at
        return age > timedelta(seconds=self._config.give_up_after_s)

    def _next_attempt(self, row: ClaimedAlert) -> datetime:
        delay = self._config.retry(urgent=row.kind in URGENT_KINDS).delay(row.attempts)
        return self._clock() + timedelta(seconds=delay)


@dataclass(frozen=True)
class ProviderSettings:
    """Which providers send alerts: the sink (records only), or the SMS gateway and Alimtalk dealer."""

    kind: str = "sink"
    """'sink' or 'http'."""
    sms_url: str = ""
    sms_api_key: str = ""
    sms_sender: str = "15880000"
    alimtalk_url: str = ""
    alimtalk_key: str = ""
    timeout_s: float = 5.0


def provider_chains(
    pool: Pool, settings: ProviderSettings, client: OutboundClient
) -> dict[str, list[MessageProvider]]:
    """The providers to try per preferred channel: KakaoTalk falls back to SMS."""
    if settings.kind == "sink":
        sms: MessageProvider = SinkProvider(pool, "sms")
        kakao: MessageProvider = SinkProvider(pool, "kakao")
    elif settings.kind == "http":
        if not settings.sms_url or not settings.alimtalk_url:
            raise ValueError("http alert providers need both the SMS gateway and the Alimtalk dealer URL")
        sms = SmsGateway(settings.sms_url, settings.sms_api_key, settings.sms_sender, client)
        kakao = AlimtalkDealer(settings.alimtalk_url, settings.alimtalk_key, client)
    else:
        raise ValueError(f"unknown alert provider kind {settings.kind!r} (sink or http)")
    return {"sms": [sms], "kakao": [kakao, sms]}


async def run_alert_worker(
    database_url: str,
    providers: ProviderSettings,
    config: AlertConfig,
    stop: asyncio.Event,
    links: LinkSettings | None = None,
) -> None:
    """The alert worker process: waits for the database, then delivers until `stop`."""
    pool = await create_pool_when_ready(database_url, application_name="ondol-alerts", stop=stop)
    if pool is None:
        return
    client = OutboundClient(providers.timeout_s)
    try:
        chains = provider_chains(pool, providers, client)
        log.info("customer alert worker started (providers: %s)", providers.kind)
        if providers.kind == "sink":
            log.warning(
                "alerts are recorded by the sink provider, NOT sent to customers (GET /v1/alert-sink)"
            )
        await AlertDeliverer(pool, chains, config, links=links).run(stop)
    finally:
        await client.aclose()
        await pool.close()
