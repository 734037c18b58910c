"""A device's MQTT credentials: issued with the registry, shown once, rotated or revoked by an admin.

The broker learns of a change through `ondol broker-auth`, which re-renders its password and ACL files
within seconds. A device's username is its id; the broker's ACL confines it to its own topics. The
answer also says where the broker is and which CA its certificate chains to (the API is told by the
composition root, `ApiConfig.device_broker`): everything an installer writes into the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.problems import ProblemError, problem_responses
from gateway import broker_accounts
from protocol.contract import DEVICE_ID_PATTERN, TOPIC_ROOT
from telemetry.device_registry import device_exists

__all__ = ["BrokerOut", "DeviceBroker", "MqttCredentials", "router"]

router = APIRouter(prefix="/v1/devices", tags=["devices"])

Provisioner = Annotated[Principal, allow(Role.ADMIN, Role.DEVICE_PROVISIONER)]
Admin = Annotated[Principal, allow(Role.ADMIN)]
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, description="The device's id.")]


@dataclass(frozen=True, slots=True)
class DeviceBroker:
    """Where devices connect, as the composition root tells the API (not where the gateway connects)."""

    host: str
    port: int
    tls: bool
    ca_certificate: str | None = None
    """PEM of the CA the broker's certificate chains to; None: a public CA the device already trusts."""


class BrokerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    host: str
    port: int
    tls: bool = Field(description="MQTT over TLS (1.2 or newer); false: plain MQTT.")
    ca_certificate: str | None = Field(
        description="PEM of the CA to verify the broker's certificate with; null: the system's CAs (or no TLS)."
    )


class MqttCredentials(BaseModel):
    username: str = Field(description="The device's id; the broker binds the client id to it.")
    password: str = Field(description="Shown only here: write it into the device now.")
    topic_prefix: str = Field(description="The only topics the device may publish and subscribe under.")
    issued_at: datetime
    broker: BrokerOut | None = Field(
        description="Where the device connects, and the CA it trusts; null when this API was not told."
    )


def _not_found(device_id: str) -> ProblemError:
    return ProblemError(
        404, "device-not-found", f"No device {device_id!r} is registered.", title="Unknown device"
    )


@router.post(
    "/{device_id}/mqtt-credentials",
    status_code=201,
    response_model=MqttCredentials,
    responses=problem_responses(404, 409, 422, 503),
)
async def issue_credentials(
    request: Request,
    conn: DbConnection,
    caller: Provisioner,
    device_id: DeviceId,
    rotate: Annotated[
        bool, Query(description="Replace a password in use (admins only); the old one stops working.")
    ] = False,
) -> MqttCredentials:
    """Give a registered device its own MQTT password, with the broker's address and CA. Installers may
    issue a device's first password; replacing one in use (`rotate=true`) is for admins, so an
    installer cannot take over a device. `GET /v1/devices/{device_id}/status` then shows it come online."""
    if not await device_exists(conn, device_id=device_id):
        raise _not_found(device_id)
    if rotate and caller.role is not Role.ADMIN:
        raise ProblemError(
            403, "forbidden", "Only an admin may rotate a device's password.", title="Forbidden"
        )
    issued = await broker_accounts.issue_device_password(
        conn, device_id, issued_by=caller.label, replace=rotate
    )
    if issued is None:
        raise ProblemError(
            409, "credentials-exist",
            f"Device {device_id!r} already has an MQTT password; an admin may rotate it with rotate=true.",
            title="Credentials exist",
        )  # fmt: skip
    where: DeviceBroker | None = request.app.state.device_broker
    return MqttCredentials(
        username=issued.username, password=issued.password,
        topic_prefix=f"{TOPIC_ROOT}/{device_id}/", issued_at=issued.issued_at,
        broker=BrokerOut.model_validate(where) if where is not None else None,
    )  # fmt: skip


@router.delete("/{device_id}/mqtt-credentials", status_code=204, responses=problem_responses(404, 422, 503))
async def revoke_credentials(conn: DbConnection, _: Admin, device_id: DeviceId) -> Response:
    """Lock a device out of the broker (a stolen or retired thermostat); idempotent. Connections made
    with the old password end when the broker reloads its files."""
    if not await broker_accounts.revoke_account(conn, device_id):
        raise ProblemError(
            404, "credentials-not-found", f"Device {device_id!r} has no MQTT account.", title="No account"
        )
    return Response(status_code=204)
