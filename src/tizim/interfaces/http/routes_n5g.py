"""N5g-eir (3GPP TS 29.511): the 5G core's equipment identity check, answered from the index.

`GET /n5g-eir-eic/v1/equipment-status?pei=imei-<15 digits>|imeisv-<16 digits>[&supi=imsi-…]`
- 200 `{"status": "WHITELISTED" | "BLACKLISTED" | "GREYLISTED"}` (EirResponseData);
- 404 ProblemDetails, cause `ERROR_EQUIPMENT_UNKNOWN`: an IMEI the registry has never met
  (the check itself is its first sighting: it starts the grace period);
- 400 ProblemDetails, cause `MANDATORY_IE_MISSING` / `MANDATORY_IE_INCORRECT` (a PEI that is
  not an IMEI or IMEISV) or `OPTIONAL_IE_INCORRECT` (a malformed SUPI).
A well-formed PEI whose IMEI breaks the authenticity rules (check digit, reserved code,
unknown TAC) is an answer — BLACKLISTED — as everywhere in the registry.

The route is `async` and builds the three success bodies once: the answer costs an index
lookup, not a thread-pool hop or a JSON encoder.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from tizim.domain.status import ListName
from tizim.interfaces.http.deps_realtime import Realtime
from tizim.interfaces.http.problems import problem

router = APIRouter(prefix="/n5g-eir-eic/v1", tags=["N5g-eir (3GPP TS 29.511)"])

_PEI = re.compile(r"(?:imei-([0-9]{15})|imeisv-([0-9]{16}))", re.ASCII)
_SUPI_IMSI = re.compile(r"imsi-([0-9]{5,15})", re.ASCII)
_BODIES = {
    ListName.WHITE: b'{"status":"WHITELISTED"}',
    ListName.BLACK: b'{"status":"BLACKLISTED"}',
    ListName.GREY: b'{"status":"GREYLISTED"}',
}
_PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed PEI or SUPI (ProblemDetails with `cause`)"},
    404: {"description": "ERROR_EQUIPMENT_UNKNOWN (ProblemDetails)"},
}


class EirResponseData(BaseModel):
    status: str


@router.get(
    "/equipment-status",
    response_model=EirResponseData,
    responses=_PROBLEM_RESPONSES,
    summary="Equipment status of a PEI (IMEI or IMEISV)",
)
async def equipment_status(
    checks: Realtime,
    pei: Annotated[str | None, Query(description="imei-<15 digits> or imeisv-<16 digits>")] = None,
    supi: Annotated[str | None, Query(description="imsi-<digits> (optional)")] = None,
    gpsi: Annotated[str | None, Query(description="msisdn-<digits> (optional, unused)")] = None,
) -> Response:
    if pei is None:
        return _bad_request("MANDATORY_IE_MISSING", "pei", "the query parameter pei is required")
    found = _PEI.fullmatch(pei)
    if found is None:
        return _bad_request(
            "MANDATORY_IE_INCORRECT", "pei", "pei must be imei-<15 digits> or imeisv-<16 digits>"
        )
    imsi = None
    if supi is not None:
        supi_imsi = _SUPI_IMSI.fullmatch(supi)
        if supi_imsi is None and supi.startswith("imsi-"):
            return _bad_request("OPTIONAL_IE_INCORRECT", "supi", "supi must be imsi-<5-15 digits>")
        imsi = supi_imsi.group(1) if supi_imsi else None
    answer = checks.check(
        found.group(1) or found.group(2), operator=checks.operator_for_supi(imsi), imsi=imsi
    )
    body = _BODIES.get(answer.list)
    if body is None:
        return problem(
            404,
            "Equipment unknown",
            "The registry has no record of this equipment",
            cause="ERROR_EQUIPMENT_UNKNOWN",
        )
    return Response(body, media_type="application/json")


def _bad_request(cause: str, param: str, reason: str) -> Response:
    return problem(
        400,
        "Bad request",
        reason,
        cause=cause,
        invalidParams=[{"param": param, "reason": reason}],
    )
