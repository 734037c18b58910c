"""Technician profiles: the name and photo the customer sees before a visit (docs/customer-link.md).

Admins keep them; a technician key may update its own point's technicians (a new photo, an English
name). Visits are assigned to the point's least-booked technician when a customer books."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.problems import ProblemError, problem_responses
from api.record_audit import record
from api.user_text import UserText
from diagnostics.customer_link import store as link_store

__all__ = ["TechnicianIn", "TechnicianOut", "router"]

router = APIRouter(prefix="/v1/technicians", tags=["tickets"])
Keeper = Annotated[Principal, allow(Role.ADMIN, Role.TECHNICIAN)]
TechnicianId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class TechnicianIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    point_id: str = Field(
        min_length=1, max_length=64, description="The service point the technician works from"
    )
    name: UserText = Field(min_length=1, max_length=100, description="As Korean customers read it")
    name_en: UserText | None = Field(None, min_length=1, max_length=100, pattern=r"^[^가-힣ㄱ-ㅎㅏ-ㅣ]+$")
    photo_url: str | None = Field(
        None, max_length=500, pattern=r"^(https://|/)\S+$", description="https:// or a path on this site"
    )


class TechnicianOut(TechnicianIn):
    technician_id: str


@router.put("/{technician_id}", response_model=TechnicianOut, responses=problem_responses(403, 404, 422, 503))
async def put_technician(
    conn: DbConnection, caller: Keeper, technician_id: TechnicianId, body: TechnicianIn
) -> TechnicianOut:
    """Create or replace a technician's profile. A technician key keeps its own point's technicians."""
    if caller.role is Role.TECHNICIAN and body.point_id != caller.service_point_id:
        raise ProblemError(403, "forbidden", "A technician keeps the technicians of their own service point.",
                           title="Not allowed for this role")  # fmt: skip
    async with conn.transaction():
        written = await link_store.upsert_technician(
            conn, technician_id=technician_id, point_id=body.point_id, name=body.name, name_en=body.name_en,
            photo_url=body.photo_url,
        )  # fmt: skip
        if not written:
            raise ProblemError(404, "service-point-not-found", f"No service point {body.point_id!r}.",
                               title="Unknown service point")  # fmt: skip
        await record(conn, caller, "change", "technician")
    return TechnicianOut(technician_id=technician_id, **body.model_dump())
