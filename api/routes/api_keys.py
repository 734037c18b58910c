"""API keys: issue one for a role (and, for scoped roles, its scope), list them, revoke them.

The whole key is in the creation answer only; the store keeps its SHA-256.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api import access_keys
from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.pagination import decode_text_cursor, encode_text_cursor, split_page
from api.problems import ProblemError, invalid_parameter, problem_responses
from api.user_text import UserText

__all__ = ["router"]

router = APIRouter(prefix="/v1/api-keys", tags=["access"])

Admin = Annotated[Principal, allow(Role.ADMIN)]
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The key's id (the part after `ondol_`).")]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: UserText = Field(min_length=1, max_length=100, description="Who or what uses the key.")
    role: Role
    service_point_id: str | None = Field(
        None, min_length=1, max_length=64, description="Required for, and only for, technicians."
    )
    customer_phone: str | None = Field(
        None, min_length=9, max_length=24, pattern=r"^\+?[0-9 ()-]+$",
        description="Required for, and only for, customers: the phone they are a device contact with, written "
        "any way; kept (and shown) in national form, 01012345678.",
    )  # fmt: skip

    @model_validator(mode="after")
    def _scope_matches_role(self) -> KeyIn:
        if (self.role is Role.TECHNICIAN) != (self.service_point_id is not None):
            raise ValueError("service_point_id is required for technicians and only for them")
        if (self.role is Role.CUSTOMER) != (self.customer_phone is not None):
            raise ValueError("customer_phone is required for customers and only for them")
        return self


class KeyOut(BaseModel):
    key_id: str
    name: str
    role: Role
    service_point_id: str | None
    customer_phone: str | None
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The API key, `ondol_<key_id>_<secret>`. Shown only here: store it now.")


class KeyPage(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None


@router.post("", status_code=201, response_model=KeyCreated, responses=problem_responses(422, 503))
async def create_key(conn: DbConnection, caller: Admin, body: KeyIn, response: Response) -> KeyCreated:
    """Issue a key. The answer is the only place the key itself ever appears."""
    try:
        issued = await access_keys.issue_key(
            conn, name=body.name, role=body.role.value, created_by=caller.label,
            service_point_id=body.service_point_id, customer_phone=body.customer_phone,
        )  # fmt: skip
    except access_keys.KeyScopeError as exc:
        raise invalid_parameter("body", exc.field, str(exc)) from exc
    response.headers["Location"] = f"{router.prefix}/{issued.record['key_id']}"
    return KeyCreated(**issued.record, key=issued.token)


@router.get("", response_model=KeyPage, responses=problem_responses(400, 422, 503))
async def list_keys(
    conn: DbConnection,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> KeyPage:
    """Keys by id, revoked ones included (the key itself is never shown again)."""
    after = decode_text_cursor(cursor) if cursor is not None else ""
    rows = await access_keys.list_keys(conn, after=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    return KeyPage(
        items=[KeyOut(**r) for r in page], next_cursor=encode_text_cursor(last["key_id"]) if last else None
    )


@router.delete("/{key_id}", status_code=204, responses=problem_responses(404, 409, 422, 503))
async def revoke_key(conn: DbConnection, caller: Admin, key_id: KeyId) -> Response:
    """Revoke a key at once (idempotent). An admin cannot revoke the key it is calling with."""
    if key_id == caller.key_id:
        raise ProblemError(409, "own-key", "Revoke your own key with another admin key.", title="Own key")
    if not await access_keys.revoke_key(conn, key_id):
        raise ProblemError(404, "key-not-found", f"No API key {key_id}.", title="Unknown key")
    return Response(status_code=204)
