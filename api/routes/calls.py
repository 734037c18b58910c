"""Inbound calls and their forecast (docs/cold-wave.md): the call center reports its calls, and reads
the expected calls per region and day for staffing, with the forecast's measured error."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.problems import invalid_parameter, problem_responses
from api.record_audit import record
from api.schemas.devices import RegionQuery
from api.user_text import UserText
from diagnostics.cold_wave.call_volume import CallForecastConfig, ReportedCall, forecast_calls, record_calls
from telemetry.korean_time import kst_day
from telemetry.regions import UnknownRegionError, region_code

__all__ = ["router"]

router = APIRouter(tags=["incidents"])
Staff = Annotated[Principal, allow(Role.ADMIN, Role.AGENT)]


class CallIn(BaseModel):
    at: datetime
    region: str | None = Field(None, max_length=40, description="A region's code or name; or give device_id")
    device_id: str | None = Field(None, max_length=64)
    reason: UserText = Field("", max_length=200)
    external_id: str | None = Field(
        None, max_length=100, description="Your id of the call: sent twice, kept once"
    )


class CallsIn(BaseModel):
    calls: list[CallIn] = Field(min_length=1, max_length=10_000)


class RecordedOut(BaseModel):
    received: int
    new: int


class DayOut(BaseModel):
    day: date
    expected: float
    base: float = Field(description="The weekday and month pattern")
    cold: float = Field(description="Added by the forecast cold")
    incident: float = Field(description="Added by boilers open area incidents hold")
    min_c: float | None


class BacktestOut(BaseModel):
    days: int
    mae: float | None = Field(description="Mean absolute error, calls per day, over the backtest days")
    mape: float | None


class ForecastOut(BaseModel):
    region: str
    days: list[DayOut]
    cold_per_degree: float
    cold_fitted: bool
    backtest: BacktestOut


@router.post("/v1/calls", response_model=RecordedOut, responses=problem_responses(422, 503))
async def post_calls(conn: DbConnection, caller: Staff, body: CallsIn) -> RecordedOut:
    """Report inbound calls (the call center's system, in batches): the history the forecast learns from."""
    calls = []
    for index, call in enumerate(body.calls):
        region = None
        if call.region is not None:
            try:
                region = region_code(call.region)
            except UnknownRegionError as exc:
                raise invalid_parameter("body", f"calls.{index}.region", str(exc)) from exc
        calls.append(ReportedCall(call.at, region, call.device_id, call.reason, call.external_id))
    async with conn.transaction():
        new = await record_calls(conn, calls)
        await record(conn, caller, "change", "calls")
    return RecordedOut(received=len(calls), new=new)


@router.get("/v1/call-forecast", response_model=ForecastOut, responses=problem_responses(422, 503))
async def get_call_forecast(
    conn: DbConnection, caller: Staff, region: RegionQuery, days: Annotated[int, Query(ge=1, le=14)] = 3
) -> ForecastOut:
    """Expected inbound calls per day from tomorrow, with the parts they come from and the model's error
    on the last four weeks."""
    if region is None:
        raise invalid_parameter("query", "region", "name the region")
    forecast = await forecast_calls(conn, region, today=kst_day(datetime.now(UTC)), days=days,
                                    config=CallForecastConfig())  # fmt: skip
    return ForecastOut(
        region=forecast.region, cold_per_degree=forecast.cold_per_degree, cold_fitted=forecast.cold_fitted,
        days=[DayOut(day=d.day, expected=d.expected, base=d.base, cold=d.cold, incident=d.incident, min_c=d.min_c)
              for d in forecast.days],
        backtest=BacktestOut(days=forecast.backtest.days, mae=forecast.backtest.mae, mape=forecast.backtest.mape),
    )  # fmt: skip
