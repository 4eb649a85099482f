"""`check`: the list of one IMEI now, with its reasons, deadline and device model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from tizim.domain.imei import authenticity_reason, read_imei
from tizim.domain.reasons import Reason, split_reasons
from tizim.domain.rules import Rules
from tizim.domain.status import ImeiFacts, ListName, Status, list_status
from tizim.storage.queries import tac_database_loaded
from tizim.storage.schema import devices, imeis, tacs


@dataclass(frozen=True)
class DeviceModel:
    brand: str
    model: str


@dataclass(frozen=True)
class CheckResult:
    imei: str
    list: ListName
    reasons: tuple[Reason, ...]
    grace_deadline: datetime | None
    device: DeviceModel | None
    software_version: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Exactly the FORMATS.md shape of `tizim check --json`."""
        return {
            "imei": self.imei,
            "list": self.list.value,
            "reasons": [reason.value for reason in self.reasons],
            "grace_deadline": self.grace_deadline.isoformat() if self.grace_deadline else None,
            "device": {"brand": self.device.brand, "model": self.device.model}
            if self.device
            else None,
        }


def facts_of(row: Any) -> ImeiFacts:
    """The fact summary of an `imeis` row."""
    return ImeiFacts(
        invalid_reason=Reason(row.invalid_reason) if row.invalid_reason else None,
        first_seen=row.first_seen_at,
        last_seen=row.last_seen_at,
        trusted_source=bool(row.trusted_source),
        verified=bool(row.verified),
        paired=bool(row.paired),
        gsma_blacklisted=bool(row.gsma_blacklisted),
        reported_stolen=bool(row.reported_stolen),
        clone_suspected=bool(row.clone_suspected),
        retired_at=row.retired_at,
    )


def check_imei(conn: Connection, raw: str, *, now: datetime, rules: Rules) -> CheckResult:
    """The list is computed from the facts at `now`, so it is exact even between two sweeps."""
    reading = read_imei(raw, rules.reserved_tac_prefixes)
    if reading.imei is None:
        return CheckResult(raw.strip(), ListName.BLACK, (Reason.INVALID_FORMAT,), None, None)
    row = conn.execute(select(imeis).where(imeis.c.imei == reading.imei)).first()
    device = _device_model(conn, reading.imei, row.device_id if row else None)
    if row is not None:
        status = list_status(facts_of(row), now, rules)
    else:
        tac_known = device is not None if tac_database_loaded(conn) else None
        status = list_status(
            ImeiFacts(invalid_reason=authenticity_reason(reading, tac_known)), now, rules
        )
    return CheckResult(
        reading.imei,
        status.list,
        status.reasons,
        status.grace_deadline,
        device,
        reading.software_version,
    )


def stored_status(conn: Connection, imei: str) -> Status | None:
    """The materialised list of an IMEI (as operators' list files show it), or None."""
    row = conn.execute(
        select(imeis.c.list, imeis.c.reasons, imeis.c.grace_deadline).where(imeis.c.imei == imei)
    ).first()
    if row is None:
        return None
    return Status(ListName(row.list), split_reasons(row.reasons), row.grace_deadline)


def _device_model(conn: Connection, imei: str, device_id: int | None) -> DeviceModel | None:
    if device_id is not None:
        known = conn.execute(
            select(devices.c.brand, devices.c.model).where(devices.c.id == device_id)
        ).first()
        if known is not None and known.brand and known.model:
            return DeviceModel(known.brand, known.model)
    tac = conn.execute(select(tacs.c.brand, tacs.c.model).where(tacs.c.tac == imei[:8])).first()
    return DeviceModel(tac.brand, tac.model) if tac else None
