"""Webhook subscriptions of the call center's systems, and their delivery log with manual replay.

Delivery itself is the worker's (`ondol webhooks`, outbox/webhooks/delivery.py). No authentication
yet: the roles issue restricts these routes to admins.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.access import Allow, Role
from api.dependencies import DbConnection
from api.pagination import decode_id_cursor, encode_id_cursor, split_page
from api.problems import ProblemError, problem_responses
from api.schemas.webhooks import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    ReplayOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
)
from outbox.outbound_guard import BlockedDestinationError, OutboundPolicy, resolve
from outbox.webhooks.signing import new_secret
from outbox.webhooks.store import (
    create_subscription,
    disable_subscription,
    get_subscription,
    list_attempts,
    list_deliveries,
    list_subscriptions,
    replay_delivery,
    replay_failed,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], dependencies=[Depends(Allow(Role.ADMIN))])

SubscriptionId = Annotated[int, Path(ge=1, le=2**62, description="The subscription's id.")]
DeliveryId = Annotated[int, Path(ge=1, le=2**62, description="The delivery's id.")]


def _not_found(subscription_id: int) -> ProblemError:
    return ProblemError(404, "webhook-not-found", f"No webhook subscription {subscription_id}.")


@router.post("", status_code=201, response_model=SubscriptionCreated, responses=problem_responses(422, 503))
async def subscribe(
    conn: DbConnection, body: SubscriptionIn, request: Request, response: Response
) -> SubscriptionCreated:
    """Subscribe a URL to event types. The answer holds the signing secret, shown only this once.

    The URL must lead to a public address (or a network the settings allow): checked now, and
    again before every delivery.
    """
    policy: OutboundPolicy = request.app.state.webhook_policy
    try:
        await resolve(body.url, policy)
    except BlockedDestinationError as exc:
        raise ProblemError(422, "webhook-url-refused", str(exc), title="Webhook URL refused") from exc
    secret = new_secret()
    row = await create_subscription(
        conn,
        url=body.url,
        secret=secret,
        event_types=sorted(set(body.event_types)),
        description=body.description,
    )
    response.headers["Location"] = f"{router.prefix}/{row.subscription_id}"
    return SubscriptionCreated(**asdict(row), secret=secret)


@router.get("", response_model=SubscriptionPage, responses=problem_responses(400, 422, 503))
async def subscriptions(
    conn: DbConnection,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> SubscriptionPage:
    """Subscriptions, oldest first (secrets are never shown again)."""
    after = decode_id_cursor(cursor) if cursor is not None else 0
    rows = await list_subscriptions(conn, after=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    return SubscriptionPage(
        items=[SubscriptionOut.model_validate(r, from_attributes=True) for r in page],
        next_cursor=encode_id_cursor(last.subscription_id) if last else None,
    )


@router.get("/{subscription_id}", response_model=SubscriptionOut, responses=problem_responses(404, 422, 503))
async def subscription(conn: DbConnection, subscription_id: SubscriptionId) -> SubscriptionOut:
    row = await get_subscription(conn, subscription_id)
    if row is None:
        raise _not_found(subscription_id)
    return SubscriptionOut.model_validate(row, from_attributes=True)


@router.delete("/{subscription_id}", status_code=204, responses=problem_responses(404, 422, 503))
async def unsubscribe(conn: DbConnection, subscription_id: SubscriptionId) -> Response:
    """Disable a subscription: no new deliveries; pending ones are marked failed (replayable if
    it is ever enabled again). The log is kept."""
    if await disable_subscription(conn, subscription_id) is None:
        raise _not_found(subscription_id)
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", response_model=DeliveryPage,
            responses=problem_responses(400, 404, 422, 503))  # fmt: skip
async def deliveries(
    conn: DbConnection,
    subscription_id: SubscriptionId,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> DeliveryPage:
    """The delivery log, newest first."""
    if await get_subscription(conn, subscription_id) is None:
        raise _not_found(subscription_id)
    before = decode_id_cursor(cursor) if cursor is not None else None
    rows = await list_deliveries(conn, subscription_id, status=status, before=before, limit=limit + 1)
    page, last = split_page(rows, limit)
    return DeliveryPage(
        items=[DeliveryOut.model_validate(r, from_attributes=True) for r in page],
        next_cursor=encode_id_cursor(last.delivery_id) if last else None,
    )


@router.get("/{subscription_id}/deliveries/{delivery_id}/attempts", response_model=list[AttemptOut],
            responses=problem_responses(404, 422, 503))  # fmt: skip
async def attempts(
    conn: DbConnection, subscription_id: SubscriptionId, delivery_id: DeliveryId
) -> list[AttemptOut]:
    """Every attempt of one delivery: when, how long, the answer's status and its first bytes."""
    rows = await list_deliveries(conn, subscription_id, status=None, before=delivery_id + 1, limit=1)
    if not rows or rows[0].delivery_id != delivery_id:
        raise ProblemError(
            404, "delivery-not-found", f"No delivery {delivery_id} of subscription {subscription_id}."
        )
    return [
        AttemptOut.model_validate(r, from_attributes=True) for r in await list_attempts(conn, delivery_id)
    ]


@router.post("/{subscription_id}/deliveries/{delivery_id}/replay", response_model=DeliveryOut,
             responses=problem_responses(404, 422, 503))  # fmt: skip
async def replay(conn: DbConnection, subscription_id: SubscriptionId, delivery_id: DeliveryId) -> DeliveryOut:
    """Send one delivery again, with the same webhook-id (the receiver may have lost it)."""
    row = await replay_delivery(conn, subscription_id, delivery_id)
    if row is None:
        raise ProblemError(
            404,
            "delivery-not-found",
            f"No delivery {delivery_id} of an active subscription {subscription_id}.",
        )
    return DeliveryOut.model_validate(row, from_attributes=True)


@router.post(
    "/{subscription_id}/replay-failed", response_model=ReplayOut, responses=problem_responses(404, 422, 503)
)
async def replay_all_failed(conn: DbConnection, subscription_id: SubscriptionId) -> ReplayOut:
    """Send every failed delivery of the subscription again, in order."""
    if await get_subscription(conn, subscription_id) is None:
        raise _not_found(subscription_id)
    return ReplayOut(replayed=await replay_failed(conn, subscription_id))
