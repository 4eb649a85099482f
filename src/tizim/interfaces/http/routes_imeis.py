"""Public IMEI check: the same answer as `tizim check --json`, no personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from tizim.interfaces.http.deps import CurrentRules, DbConn, Now
from tizim.services.check import check_imei

router = APIRouter(prefix="/api/v1", tags=["check"])


class DeviceOut(BaseModel):
    brand: str
    model: str


class CheckOut(BaseModel):
    imei: str
    list: str
    reasons: list[str]
    grace_deadline: datetime | None
    device: DeviceOut | None


@router.get("/imeis/{imei}", response_model=CheckOut, summary="Which list an IMEI is on")
def get_imei_status(imei: str, conn: DbConn, now: Now, rules: CurrentRules) -> Any:
    """An invalid IMEI is an answer (black, with its reason), not an error."""
    return check_imei(conn, imei, now=now, rules=rules).as_json()
