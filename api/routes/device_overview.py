"""The agent's view of one device while the customer is on the phone, as one JSON document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.device_overview import DeviceOverview, load_overview
from api.problems import problem_responses
from protocol.contract import DEVICE_ID_PATTERN

__all__ = ["router"]

router = APIRouter(prefix="/v1/devices", tags=["devices"])

DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, description="The device's id.")]


@router.get(
    "/{device_id}/overview", response_model=DeviceOverview, responses=problem_responses(404, 422, 503)
)
async def device_overview(
    conn: DbConnection,
    caller: Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN)],
    device_id: DeviceId,
    request: Request,
) -> DeviceOverview:
    """Everything an agent needs about one device on one page."""
    return await load_overview(
        conn, caller, device_id, default_warranty_years=request.app.state.default_warranty_years
    )
