"""N5g-eir (3GPP TS 29.511): the 5G core's equipment identity check, answered from the index.

`GET /n5g-eir-eic/v1/equipment-status?pei=imei-<15 digits>|imeisv-<16 digits>[&supi=imsi-…]`
- 200 `{"status": "WHITELISTED" | "BLACKLISTED" | "GREYLISTED"}` (EirResponseData);
- 404 ProblemDetails, cause `ERROR_EQUIPMENT_UNKNOWN`: an IMEI the registry has never met
  (the check itself is its first sighting: it starts the grace period);
- 400 ProblemDetails, cause `MANDATORY_IE_MISSING` / `MANDATORY_IE_INCORRECT` (a PEI that is
  not an IMEI or IMEISV) or `OPTIONAL_IE_INCORRECT` (a malformed SUPI).
A well-formed PEI whose IMEI breaks the authenticity rules (check digit, reserved code,
unknown TAC) is an answer — BLACKLISTED — as everywhere in the registry.

The answers are built once (three success bodies) and served by `N5gFastLane`, a small ASGI
middleware in front of FastAPI's routing; the route itself is kept for the OpenAPI document.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from tizim.domain.status import ListName
from tizim.interfaces.http.deps_realtime import Realtime
from tizim.interfaces.http.problems import PROBLEM_JSON
from tizim.services.realtime_checks import RealtimeChecks

router = APIRouter(prefix="/n5g-eir-eic/v1", tags=["N5g-eir (3GPP TS 29.511)"])
PATH = "/n5g-eir-eic/v1/equipment-status"

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
    status, body = n5g_answer(checks, pei, supi)
    media_type = "application/json" if status == 200 else PROBLEM_JSON
    return Response(body, status_code=status, media_type=media_type)


def n5g_answer(checks: RealtimeChecks, pei: str | None, supi: str | None) -> tuple[int, bytes]:
    """Status code and body of the answer; the check is recorded as a sighting."""
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
        return 404, _UNKNOWN
    return 200, body


def _problem_body(status: int, title: str, detail: str, **extra: Any) -> bytes:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return json.dumps(body).encode()


_UNKNOWN = _problem_body(
    404,
    "Equipment unknown",
    "The registry has no record of this equipment",
    cause="ERROR_EQUIPMENT_UNKNOWN",
)


def _bad_request(cause: str, param: str, reason: str) -> tuple[int, bytes]:
    return 400, _problem_body(
        400, "Bad request", reason, cause=cause, invalidParams=[{"param": param, "reason": reason}]
    )


class N5gFastLane:
    """ASGI middleware answering the equipment-status GET before FastAPI's routing.

    The route above documents the operation (OpenAPI) and answers whenever the lane steps
    aside (no shared `RealtimeChecks` yet); both call `n5g_answer`, so they cannot disagree.
    Skipping routing, dependency injection and response models triples the requests a
    core can answer, which is what the 5G core's attach storms need.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        checks = getattr(scope["app"].state, "realtime", None)
        if checks is None:
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        status, body = n5g_answer(checks, query.get("pei"), query.get("supi"))
        headers = _JSON_HEADERS if status == 200 else _PROBLEM_HEADERS
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


_JSON_HEADERS = [(b"content-type", b"application/json")]
_PROBLEM_HEADERS = [(b"content-type", PROBLEM_JSON.encode())]
