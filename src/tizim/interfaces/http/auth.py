"""Who is calling: API keys → organisation, and the role check every non-public route makes.

Keys come as `Authorization: Bearer <key>` or `X-API-Key: <key>`. A missing, unknown or
revoked key is 401 (with `WWW-Authenticate: Bearer`); a known caller in the wrong role is 403.
Registry staff pass every role check: they supervise everything. Keys are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException

from tizim.interfaces.http.deps import DbConn, Now
from tizim.services.orgs import Organisation, Role, organisation_for_key


@dataclass(frozen=True)
class Caller:
    organisation: Organisation

    @property
    def code(self) -> str:
        return self.organisation.code

    @property
    def role(self) -> Role:
        return self.organisation.role

    @property
    def is_staff(self) -> bool:
        return self.organisation.role is Role.REGISTRY_STAFF


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key from `Authorization: Bearer …` or, failing that, from `X-API-Key`."""
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None


def current_caller(
    conn: DbConn,
    now: Now,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Caller:
    """Any authenticated organisation (no role check): the dependency behind require_roles."""
    key = presented_key(authorization, x_api_key)
    if key is None:
        raise _unauthorised("An API key is required (Authorization: Bearer <key>)")
    organisation = organisation_for_key(conn, key, now=now)
    if organisation is None:
        raise _unauthorised("The API key is not valid or has been revoked")
    return Caller(organisation)


def require_roles(*roles: Role | str) -> Callable[..., Caller]:
    """A FastAPI dependency admitting callers in one of `roles` (and registry staff).

    Use: `caller: Annotated[Caller, Depends(require_roles(Role.OPERATOR))]`.
    """
    allowed = frozenset(Role(role) for role in roles) | {Role.REGISTRY_STAFF}

    def dependency(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.role not in allowed:
            raise HTTPException(403, f"The role {caller.role.value} may not use this endpoint")
        return caller

    return dependency


AnyCaller = Annotated[Caller, Depends(current_caller)]
StaffCaller = Annotated[Caller, Depends(require_roles(Role.REGISTRY_STAFF))]
