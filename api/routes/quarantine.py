"""The quarantine, newest first: what devices sent that the gateway could not accept, and why.

Admins only (payloads may hold customer data). Each entry's `reason` is one of the gateway's reasons
(gateway.decoder.Reason); its `detail` says what exactly was wrong.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.access import Allow, Role
from api.dependencies import DbConnection
from api.pagination import decode_id_cursor, encode_id_cursor, split_page
from api.problems import problem_responses
from api.schemas.devices import QuarantineItem, QuarantinePage
from gateway.decoder import Reason
from protocol.contract import DEVICE_ID_PATTERN
from telemetry import quarantine_log

__all__ = ["router"]

router = APIRouter(prefix="/v1/quarantine", tags=["quarantine"], dependencies=[Depends(Allow(Role.ADMIN))])


@router.get("", response_model=QuarantinePage, responses=problem_responses(400, 422, 503))
async def list_quarantine(
    conn: DbConnection,
    reason: Annotated[Reason | None, Query(description="Only entries quarantined for this reason.")] = None,
    device_id: Annotated[str | None, Query(pattern=DEVICE_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> QuarantinePage:
    """Quarantined messages, newest first, filtered by reason and device."""
    before_id = decode_id_cursor(cursor) if cursor is not None else None
    views = await quarantine_log.list_quarantine(
        conn,
        reason=reason.value if reason else None,
        device_id=device_id,
        before_id=before_id,
        limit=limit + 1,
    )
    page, last = split_page(views, limit)
    return QuarantinePage(
        items=[QuarantineItem.model_validate(v) for v in page],
        next_cursor=encode_id_cursor(last.quarantine_id) if last else None,
    )
