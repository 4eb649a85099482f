"""The simplified application for a second IMEI: no documents, no fee.

The owner of a white device — proven by an approved verification under the same IIN — links
a grey IMEI that belongs to it: same TAC as one of the device's IMEIs and a free SIM slot of
the model. It is decided at once; approval records `PAIRING_APPROVED` (white, `PAIRED`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from tizim.domain.applications import Code, Failure, check_iin, check_pairing
from tizim.domain.iin import normalise_iin
from tizim.domain.imei import read_imei
from tizim.domain.rules import Rules
from tizim.i18n import LANGUAGES
from tizim.services.application_checks import imei_states, tac_models
from tizim.services.applications import (
    ApplicationPolicy,
    ApplicationRejected,
    next_number,
    signature_failures,
    store_imeis,
)
from tizim.services.decisions import ApplicationStatus, add_event, failures_to_json
from tizim.services.facts import Fact, FactKind, record_facts
from tizim.services.signatures import canonical_json
from tizim.storage.schema import imeis
from tizim.storage.tables_applications import applications


def submit_pairing(
    conn: Connection,
    body: Mapping[str, Any],
    signature: str,
    certificate: str,
    *,
    provider: str | None,
    language: str,
    now: datetime,
    rules: Rules,
    policy: ApplicationPolicy,
) -> tuple[str, list[Failure]]:
    """Decide a pairing at once; returns the application number and the refusal reasons."""
    iin = normalise_iin(str(body.get("applicant_iin") or ""))
    rejected = [
        *signature_failures(body, signature, certificate, now=now, policy=policy),
        *check_iin(iin),
    ]
    if rejected:
        raise ApplicationRejected(rejected)
    failures, new_imei, device_imei, device_id = _pairing_checks(conn, body, iin, rules)
    number = next_number(conn, rules.local_date(now).year)
    application_id = conn.execute(
        applications.insert()
        .values(
            number=number,
            kind="pairing",
            status=ApplicationStatus.PAID.value,
            applicant_iin=iin,
            provider=provider,
            device_imei=device_imei,
            language=language if language in LANGUAGES else "kk",
            body=canonical_json(body).decode(),
            signature=signature,
            certificate=certificate,
            fee_kzt=0,
            device_id=device_id,
            failures=failures_to_json(failures) if failures else None,
            submitted_at=now,
            decided_at=now,
            decided_by="registry",
        )
        .returning(applications.c.id)
    ).scalar_one()
    store_imeis(conn, application_id, [new_imei])
    actor = f"provider:{provider}" if provider else "applicant"
    add_event(conn, application_id, ApplicationStatus.PAID, actor=actor, now=now, note="no fee")
    if failures:
        note = ", ".join(f.code.value for f in failures)
        add_event(
            conn, application_id, ApplicationStatus.REFUSED, actor="registry", now=now, note=note
        )
        return number, failures
    source = f"application:{number}"
    record_facts(
        conn,
        [Fact(new_imei, FactKind.PAIRING_APPROVED, source, now, reference=number)],
        now=now,
        rules=rules,
        source=source,
    )
    conn.execute(update(imeis).where(imeis.c.imei == new_imei).values(device_id=device_id))
    add_event(conn, application_id, ApplicationStatus.APPROVED, actor="registry", now=now)
    return number, []


def _pairing_checks(
    conn: Connection, body: Mapping[str, Any], iin: str, rules: Rules
) -> tuple[list[Failure], str, str, int | None]:
    new = read_imei(str(body.get("imei") or ""), rules.reserved_tac_prefixes)
    device = read_imei(str(body.get("device_imei") or ""), rules.reserved_tac_prefixes)
    failures = [
        Failure(Code.IMEI_INVALID_FORMAT, name, {"imei": reading.raw})
        for name, reading in (("imei", new), ("device_imei", device))
        if reading.imei is None or not reading.is_valid
    ]
    new_imei = new.imei or str(body.get("imei") or "")[:15]
    device_imei = device.imei or str(body.get("device_imei") or "")[:15]
    if failures:
        return failures, new_imei, device_imei, None
    states = imei_states(conn, [new_imei, device_imei])
    device_id = conn.execute(select(imeis.c.device_id).where(imeis.c.imei == device_imei)).scalar()
    owned = device_id is not None and bool(
        conn.execute(
            select(applications.c.id).where(
                and_(
                    applications.c.device_id == device_id,
                    applications.c.applicant_iin == iin,
                    applications.c.kind == "verification",
                    applications.c.status == ApplicationStatus.APPROVED.value,
                )
            )
        ).first()
    )
    members = (
        list(
            conn.execute(
                select(imeis.c.imei).where(
                    imeis.c.device_id == device_id, imeis.c.retired_at.is_(None)
                )
            ).scalars()
        )
        if device_id is not None
        else [device_imei]
    )
    model = tac_models(conn, [device_imei]).get(device_imei[:8])
    failures = check_pairing(
        new_imei=new_imei,
        new_state=states.get(new_imei),
        device_imei=device_imei,
        device_state=states.get(device_imei),
        verified_by_applicant=owned,
        device_imeis=members,
        sim_slots=model.sim_slots if model else None,
    )
    return failures, new_imei, device_imei, device_id if owned else None
