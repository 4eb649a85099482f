"""Organisations, API keys and registration conflicts over HTTP (registry staff); `GET /me`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from tizim.interfaces.http.auth import AnyCaller, StaffCaller
from tizim.interfaces.http.deps import CurrentRules, DbConn, Now
from tizim.services.orgs import (
    Organisation,
    OrganisationError,
    Role,
    create_organisation,
    issue_api_key,
    list_organisations,
    revoke_api_key,
)
from tizim.services.registration_conflicts import (
    ConflictAlreadyResolved,
    ConflictNotFound,
    ConflictResolutionError,
    ConflictState,
    Resolution,
    list_conflicts,
    resolve_conflict,
)

router = APIRouter(prefix="/api/v1", tags=["organisations"])


class OrganisationIn(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    role: Role
    name: str | None = None
    mcc_mncs: list[str] = []


class OrganisationOut(BaseModel):
    code: str
    role: Role
    name: str
    mcc_mncs: list[str]


class NewKeyOut(BaseModel):
    organisation: OrganisationOut
    api_key: str = Field(description="Shown this once: only its hash is stored")


def _out(organisation: Organisation) -> OrganisationOut:
    return OrganisationOut(
        code=organisation.code,
        role=organisation.role,
        name=organisation.name,
        mcc_mncs=list(organisation.mcc_mncs),
    )


@router.get("/me", response_model=OrganisationOut, summary="The calling organisation")
def who_am_i(caller: AnyCaller) -> Any:
    return _out(caller.organisation)


@router.post("/organisations", response_model=NewKeyOut, status_code=201)
def add_organisation(body: OrganisationIn, caller: StaffCaller, conn: DbConn, now: Now) -> Any:
    """Create an organisation; the answer carries its first API key, shown once."""
    try:
        organisation, key = create_organisation(
            conn, code=body.code, role=body.role, name=body.name, mcc_mncs=body.mcc_mncs, now=now
        )
    except OrganisationError as error:
        raise HTTPException(409 if "exists" in str(error) else 422, str(error)) from None
    return NewKeyOut(organisation=_out(organisation), api_key=key)


@router.get("/organisations", response_model=list[OrganisationOut])
def get_organisations(caller: StaffCaller, conn: DbConn) -> Any:
    return [_out(organisation) for organisation in list_organisations(conn)]


@router.post("/organisations/{code}/keys", status_code=201)
def new_key(code: str, caller: StaffCaller, conn: DbConn, now: Now) -> dict[str, str]:
    try:
        return {"api_key": issue_api_key(conn, code=code, now=now)}
    except OrganisationError as error:
        raise HTTPException(404, str(error)) from None


@router.delete("/api-keys/{key_id}", summary="Revoke an API key (by its public id)")
def revoke_key(key_id: str, caller: StaffCaller, conn: DbConn, now: Now) -> dict[str, Any]:
    try:
        info = revoke_api_key(conn, key_or_public_id=key_id, now=now)
    except OrganisationError as error:
        raise HTTPException(404, str(error)) from None
    return {
        "key_id": info.public_id,
        "organisation": info.organisation,
        "revoked_at": info.revoked_at,
    }


class ConflictResolutionIn(BaseModel):
    resolution: Resolution
    note: Annotated[str, Field(min_length=1, max_length=2000, description="Why: required")]


@router.get("/registration-conflicts", summary="IMEIs registered by two organisations")
def get_conflicts(
    caller: StaffCaller, conn: DbConn, state: ConflictState = ConflictState.OPEN, limit: int = 1000
) -> list[dict[str, Any]]:
    found = list_conflicts(conn, state=state, limit=min(max(limit, 1), 10_000))
    return [asdict(conflict) for conflict in found]


@router.post(
    "/registration-conflicts/{conflict_id}/resolution",
    summary="Resolve a registration conflict: keep the existing registration or transfer it",
)
def resolve(
    conflict_id: int,
    body: ConflictResolutionIn,
    caller: StaffCaller,
    conn: DbConn,
    now: Now,
    rules: CurrentRules,
) -> dict[str, Any]:
    """Answers the resolved conflict; 404 for an unknown id, 409 if already resolved."""
    try:
        conflict = resolve_conflict(
            conn,
            conflict_id=conflict_id,
            resolution=body.resolution,
            note=body.note,
            resolved_by=caller.code,
            now=now,
            rules=rules,
        )
    except ConflictNotFound as error:
        raise HTTPException(404, str(error)) from None
    except ConflictAlreadyResolved as error:
        raise HTTPException(409, str(error)) from None
    except ConflictResolutionError as error:
        raise HTTPException(422, str(error)) from None
    return asdict(conflict)
