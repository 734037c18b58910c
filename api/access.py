"""Who may call what: API-key authentication, the role each endpoint declares, and object scopes.

Every route takes exactly one `Allow(...)` dependency naming the roles it admits (the tests walk the
app and fail on a route without one). `Allow` verifies the bearer key (401 when missing or wrong),
checks the role (403) and hands the route a `Principal`. Object-level checks for the scoped roles
(a technician's service point, a customer's own devices) are the `ensure_*` functions here; an
object outside a caller's scope answers 404, so its existence is not revealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import access_keys
from api.dependencies import DbConnection, ReadDbConnection
from api.limits.rate import RateLimiter
from api.problems import ProblemError, problem_responses
from telemetry.database import Connection

__all__ = [
    "ANY_ROLE",
    "Allow",
    "AllowReads",
    "Principal",
    "Role",
    "RoleGuard",
    "allow",
    "allow_reads",
    "document_roles",
    "ensure_device_visible",
    "ensure_ticket_visible",
    "route_roles",
]


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    TECHNICIAN = "technician"
    CUSTOMER = "customer"
    DEVICE_PROVISIONER = "device-provisioner"
    ANSWER_EDITOR = "answer-editor"
    """Writes and reviews the standard answers (a department's writer); sees nothing else."""


ANY_ROLE: Final = tuple(Role)

_bearer = HTTPBearer(auto_error=False, description="An Ondol API key: `ondol_<id>_<secret>`.")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as its verified key says."""

    key_id: str
    name: str
    role: Role
    service_point_id: str | None = None
    customer_phone: str | None = None

    @property
    def label(self) -> str:
        """How the audit trail names the caller."""
        return f"{self.role.value}:{self.name}"


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, "unauthorized", detail, title="Authentication required", headers={"WWW-Authenticate": "Bearer"}
    )


async def _credentials(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> HTTPAuthorizationCredentials:
    """The bearer key; 401 before a database connection is taken when there is none."""
    if credentials is None:
        raise _unauthorized("Send an API key as `Authorization: Bearer <key>`.")
    return credentials


class RoleGuard:
    """What every route's access dependency is: the roles it admits, for the walkers of the app."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)


class Allow(RoleGuard):
    """Dependency: the caller must present a valid key of one of `roles`."""

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(_credentials)],
        conn: DbConnection,
    ) -> Principal:
        identity = await access_keys.verify_key(conn, credentials.credentials)
        return self.admit(request, identity)

    def admit(self, request: Request, identity: access_keys.KeyIdentity | None) -> Principal:
        """The principal of a verified key, if its role may; 401, 429 or 403 otherwise."""
        if identity is None:
            raise _unauthorized("The API key is unknown, revoked or malformed.")
        request.state.key_id = identity.key_id  # for the request log (api.metrics): the id, not the secret
        limiter: RateLimiter = request.app.state.rate_limiter
        if wait := limiter.take(identity.key_id):
            raise ProblemError(
                429, "rate-limited", f"More than {limiter.rate_per_s:g} requests/s with this key; slow down.",
                title="Too many requests", headers={"Retry-After": RateLimiter.retry_after(wait)},
            )  # fmt: skip
        principal = Principal(
            key_id=identity.key_id, name=identity.name, role=Role(identity.role),
            service_point_id=identity.service_point_id, customer_phone=identity.customer_phone,
        )  # fmt: skip
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise ProblemError(
                403, "forbidden", f"The {principal.role.value} role may not do this (allowed: {allowed}).",
                title="Not allowed for this role",
            )  # fmt: skip
        return principal


async def ensure_device_visible(
    conn: Connection, principal: Principal, device_id: str, not_found: ProblemError
) -> None:
    """Raise `not_found` unless the caller's scope includes the device."""
    if principal.role is Role.CUSTOMER:
        assert principal.customer_phone is not None  # a database CHECK ties the phone to the role
        if not await access_keys.device_has_contact(
            conn, device_id=device_id, phone_national=principal.customer_phone
        ):
            raise not_found
    elif principal.role is Role.TECHNICIAN:
        assert principal.service_point_id is not None
        if not await access_keys.device_served_by(
            conn, device_id=device_id, service_point_id=principal.service_point_id
        ):
            raise not_found


async def ensure_ticket_visible(
    conn: Connection,
    principal: Principal,
    *,
    device_id: str,
    service_point_id: str | None,
    not_found: ProblemError,
) -> None:
    """Raise `not_found` unless the caller's scope includes the ticket."""
    if principal.role is Role.TECHNICIAN and service_point_id != principal.service_point_id:
        raise not_found
    if principal.role is Role.CUSTOMER:
        await ensure_device_visible(conn, principal, device_id, not_found)


def allow(*roles: Role) -> Any:
    """`Annotated[Principal, allow(...)]`: the parameter form of `Allow`."""
    return Depends(Allow(*roles))


class AllowReads(Allow):
    """`Allow` for read-only routes: the key is checked on the route's read connection (a replica
    within the lag bound, api.read_routing), so these routes answer while the primary is down. A key
    revoked on the primary stops working here once the replica has replayed it (within the bound).
    The key's last use is not recorded from these routes (that is a write)."""

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(_credentials)],
        conn: ReadDbConnection,
    ) -> Principal:
        identity = await access_keys.verify_key(conn, credentials.credentials, record_use=False)
        return self.admit(request, identity)


def allow_reads(*roles: Role) -> Any:
    """`Annotated[Principal, allow_reads(...)]`: the parameter form of `AllowReads`."""
    return Depends(AllowReads(*roles))


def route_roles(route: APIRoute) -> frozenset[Role] | None:
    """The roles a route admits, from its `Allow` (or other `RoleGuard`) dependency; None for a public route."""
    guards: list[object] = [d.call for d in route.dependant.dependencies]
    found = [g.roles for g in guards if isinstance(g, RoleGuard)]
    if len(found) > 1:
        raise ValueError(f"{route.path} declares its roles {len(found)} times")
    return found[0] if found else None


def document_roles(routes: Iterable[APIRoute]) -> None:
    """Write each route's roles, and its 401/403 answers, into the OpenAPI description (once: the
    routes are module-level and every app built in a process shares them)."""
    for route in routes:
        if (roles := route_roles(route)) is None or "x-roles" in (route.openapi_extra or {}):
            continue
        names = ", ".join(sorted(r.value for r in roles))
        route.description = f"{route.description}\n\nRoles: {names}.".strip()
        route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": sorted(r.value for r in roles)}
        route.responses = {**problem_responses(401, 403, 413, 429), **route.responses}
