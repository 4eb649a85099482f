"""Operators' batch check: up to 1,000 IMEIs per request, answered from the status index.

`POST /api/v1/operator/checks` with `{"imeis": ["490154203237518", ...]}` and an operator's
API key (`Authorization: Bearer <key>`). Each IMEI's answer is the real-time one (the same
as S13 and N5g-eir) and each check is a sighting by the calling operator, recorded behind.
More than 1,000 IMEIs is 413; a malformed body is 422; both problem+json.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from tizim.interfaces.http.auth import Caller, require_roles
from tizim.interfaces.http.deps import Now
from tizim.interfaces.http.deps_realtime import Realtime
from tizim.interfaces.http.problems import problem
from tizim.services.orgs import Role

router = APIRouter(prefix="/api/v1/operator", tags=["operators"])

MAX_IMEIS = 1000

OperatorCaller = Annotated[Caller, Depends(require_roles(Role.OPERATOR))]


class BatchCheckIn(BaseModel):
    imeis: list[Annotated[str, Field(max_length=64)]] = Field(
        description=f"IMEIs (14/15 digits) or IMEISVs (16 digits); at most {MAX_IMEIS}"
    )


class CheckedImei(BaseModel):
    input: str
    imei: str | None = Field(description="the 15-digit IMEI read from the input, if any")
    list: str = Field(description="white, grey, black or unknown")
    grace_deadline: datetime | None
    reason: str | None = Field(
        description="why, when the IMEI was judged by the rules rather than found in the index"
    )


class BatchCheckOut(BaseModel):
    checked_at: datetime
    results: list[CheckedImei]


@router.post(
    "/checks",
    response_model=BatchCheckOut,
    responses={
        401: {"description": "No API key, or an unknown or revoked one (problem+json)"},
        403: {"description": "The caller is not an operator (problem+json)"},
        413: {"description": f"More than {MAX_IMEIS} IMEIs (problem+json)"},
    },
    summary="Check up to 1,000 IMEIs at once",
)
async def check_batch(
    body: BatchCheckIn, caller: OperatorCaller, checks: Realtime, now: Now
) -> Any:
    if len(body.imeis) > MAX_IMEIS:
        return problem(
            413,
            "Too many IMEIs",
            f"{len(body.imeis)} IMEIs sent; at most {MAX_IMEIS} per request",
            limit=MAX_IMEIS,
        )
    results = []
    for raw in body.imeis:
        answer = checks.check(raw, operator=caller.code)
        results.append(
            {
                "input": raw,
                "imei": answer.imei,
                "list": answer.list.value,
                "grace_deadline": answer.grace_deadline,
                "reason": answer.reason.value if answer.reason else None,
            }
        )
    return {"checked_at": now, "results": results}
