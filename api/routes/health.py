"""Liveness with a database check, for load balancers and the local stack's supervisor."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request

from api.dependencies import pool_of
from api.problems import ProblemError, problem_responses
from api.schemas.devices import HealthOut
from telemetry.database import STORE_UNAVAILABLE

__all__ = ["router"]

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S: Final = 5.0


@router.get("/healthz", response_model=HealthOut, responses=problem_responses(503))
async def healthz(request: Request) -> HealthOut:
    """ok when the database answers a trivial query; otherwise a 503 problem."""
    try:
        async with pool_of(request).acquire(timeout=CHECK_TIMEOUT_S) as conn:
            await conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_S)
    except STORE_UNAVAILABLE as exc:  # any store failure means not healthy
        raise ProblemError(
            503, "database-unavailable", f"The database does not answer: {type(exc).__name__}."
        ) from exc
    return HealthOut(status="ok", database="ok")
