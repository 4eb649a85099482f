"""Organisations and their API keys: who may call the registry, and in which role.

A key looks like `tz_<public id>_<secret>`. The public id is the lookup handle (and safe to
show in listings and logs); only the SHA-256 of the secret is stored. A plain SHA-256 is
enough here — no slow password hash — because the secret is 32 random bytes from `secrets`
(256 bits of entropy): nobody can brute-force it, and a fast hash keeps every API call cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, select

from tizim.storage.tables_orgs import api_keys, organisations

KEY_PREFIX = "tz"


class Role(StrEnum):
    IMPORTER = "importer"
    MANUFACTURER = "manufacturer"
    SERVICE_CENTRE = "service_centre"
    OPERATOR = "operator"
    VERIFICATION_PROVIDER = "verification_provider"
    POLICE = "police"
    REGISTRY_STAFF = "registry_staff"


@dataclass(frozen=True)
class Organisation:
    code: str
    role: Role
    name: str
    mcc_mncs: tuple[str, ...]  # e.g. ("40102",) for an operator; empty for everyone else


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as listings show it: never the secret."""

    id: int
    public_id: str
    organisation: str
    created_at: datetime
    revoked_at: datetime | None


class OrganisationError(ValueError):
    """A request about organisations that cannot be done (the message says why)."""


def create_organisation(
    conn: Connection,
    *,
    code: str,
    role: Role | str,
    name: str | None = None,
    mcc_mncs: Sequence[str] = (),
    now: datetime,
) -> tuple[Organisation, str]:
    """Create an organisation; returns it and its first API key in clear (shown only once)."""
    code = code.strip()
    if not code or len(code) > 64 or any(ch.isspace() for ch in code):
        raise OrganisationError(f"organisation code {code!r} must be 1-64 characters, no spaces")
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise OrganisationError(f"unknown role {role!r}; one of: {allowed}") from None
    codes = tuple(_check_mcc_mnc(value) for value in mcc_mncs)
    if get_organisation(conn, code) is not None:
        raise OrganisationError(f"organisation {code!r} already exists")
    conn.execute(
        organisations.insert().values(
            code=code, role=role.value, name=name or code, mcc_mncs=",".join(codes), created_at=now
        )
    )
    return Organisation(code, role, name or code, codes), issue_api_key(conn, code=code, now=now)


def _check_mcc_mnc(value: str) -> str:
    value = value.strip().replace("-", "")
    if not value.isdigit() or len(value) not in (5, 6):
        raise OrganisationError(f"MCC-MNC {value!r} must be 5 or 6 digits (e.g. 40102)")
    return value


def issue_api_key(conn: Connection, *, code: str, now: datetime) -> str:
    """A new key for the organisation, returned in clear once; only its hash is stored."""
    if get_organisation(conn, code) is None:
        raise OrganisationError(f"no organisation {code!r}")
    public_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        api_keys.insert().values(
            public_id=public_id,
            organisation=code,
            secret_sha256=_digest(secret),
            created_at=now,
        )
    )
    return f"{KEY_PREFIX}_{public_id}_{secret}"


def revoke_api_key(conn: Connection, *, key_or_public_id: str, now: datetime) -> ApiKeyInfo:
    """Revoke a key named by its public id or the whole key; revoking twice keeps the first time."""
    parts = _split_key(key_or_public_id)
    public_id = parts[0] if parts else key_or_public_id.strip()
    row = conn.execute(select(api_keys).where(api_keys.c.public_id == public_id)).first()
    if row is None:
        raise OrganisationError(f"no API key with id {public_id!r}")
    if row.revoked_at is None:
        conn.execute(api_keys.update().where(api_keys.c.id == row.id).values(revoked_at=now))
    return _key_info(conn.execute(select(api_keys).where(api_keys.c.id == row.id)).one())


def list_api_keys(conn: Connection, *, code: str | None = None) -> list[ApiKeyInfo]:
    query = select(api_keys).order_by(api_keys.c.id)
    if code is not None:
        query = query.where(api_keys.c.organisation == code)
    return [_key_info(row) for row in conn.execute(query)]


def organisation_for_key(conn: Connection, api_key: str, *, now: datetime) -> Organisation | None:
    """The organisation holding this live key, or None (unknown, malformed, revoked)."""
    parts = _split_key(api_key)
    if parts is None:
        return None
    public_id, secret = parts
    row = conn.execute(
        select(api_keys.c.organisation, api_keys.c.secret_sha256, api_keys.c.revoked_at).where(
            api_keys.c.public_id == public_id
        )
    ).first()
    if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        return None
    if row.revoked_at is not None and row.revoked_at <= now:
        return None
    return get_organisation(conn, row.organisation)


def get_organisation(conn: Connection, code: str) -> Organisation | None:
    row = conn.execute(select(organisations).where(organisations.c.code == code)).first()
    return None if row is None else _organisation(row)


def list_organisations(conn: Connection, *, role: Role | str | None = None) -> list[Organisation]:
    query = select(organisations).order_by(organisations.c.code)
    if role is not None:
        query = query.where(organisations.c.role == Role(role).value)
    return [_organisation(row) for row in conn.execute(query)]


def operator_for_mcc_mnc(conn: Connection, mcc_mnc: str) -> Organisation | None:
    """The operator organisation that owns this MCC-MNC code (e.g. from an IMSI's prefix)."""
    for organisation in list_organisations(conn, role=Role.OPERATOR):
        if mcc_mnc in organisation.mcc_mncs:
            return organisation
    return None


def _split_key(api_key: str) -> tuple[str, str] | None:
    prefix, _, rest = api_key.strip().partition("_")
    public_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not public_id or not secret:
        return None
    return public_id, secret


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _organisation(row: Row[Any]) -> Organisation:
    return Organisation(
        code=row.code,
        role=Role(row.role),
        name=row.name,
        mcc_mncs=tuple(value for value in (row.mcc_mncs or "").split(",") if value),
    )


def _key_info(row: Row[Any]) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        public_id=row.public_id,
        organisation=row.organisation,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
