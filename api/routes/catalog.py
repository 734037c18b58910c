"""The error-code catalog, as agents and integrators read it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.access import ANY_ROLE, Allow
from api.problems import ProblemError, problem_responses
from api.schemas.tickets import CatalogCodeOut
from diagnostics.catalog import CatalogEntry, load_catalog

__all__ = ["router"]

router = APIRouter(prefix="/v1/catalog", tags=["catalog"], dependencies=[Depends(Allow(*ANY_ROLE))])


def _out(entry: CatalogEntry) -> CatalogCodeOut:
    return CatalogCodeOut.model_validate(entry.model_dump() | {"family": entry.family})


@router.get("/codes", response_model=list[CatalogCodeOut])
async def list_codes() -> list[CatalogCodeOut]:
    """Every code with its meaning, customer text, self-fix steps and dispatch policy."""
    return [_out(e) for e in load_catalog().entries()]


@router.get("/codes/{code}", response_model=CatalogCodeOut, responses=problem_responses(404, 422))
async def get_code(code: Annotated[str, Path(pattern=r"^(E[0-9]{3}|A[0-9]{2})$")]) -> CatalogCodeOut:
    entry = load_catalog().get(code)
    if entry is None:
        raise ProblemError(404, "code-not-found", f"{code} is not in the catalog.", title="Unknown code")
    return _out(entry)
