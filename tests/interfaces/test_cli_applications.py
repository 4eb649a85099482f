"""The staff CLI and the TEST ONLY EDS helpers, through the real `tizim` command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.interfaces.application_helpers import NOW, TAC_DUAL, make_iin, make_imei
from tests.support.cli import run_tizim
from tizim.adapters.payments import ReferencePaymentGateway
from tizim.adapters.reference_state import reference_registries, set_registry_available
from tizim.runtime import Runtime
from tizim.services.applications import ApplicationPolicy, pay_application, submit_application


def test_a_signed_file_is_queued_listed_and_approved_by_staff(
    registry: Runtime, registry_url: str, tmp_path: Path
) -> None:
    iin = make_iin(serial=5)
    issued = run_tizim(
        "eds",
        "issue-test-cert",
        "--iin",
        iin,
        "--out",
        str(tmp_path),
        "--now",
        NOW.isoformat(),
        database_url=registry_url,
    )
    assert issued.returncode == 0, issued.stderr
    body = {
        "type": "verification",
        "applicant_iin": iin,
        "imeis": [make_imei(TAC_DUAL, 3)],
        "proof": {"kind": "customs", "declaration_number": "DT-77"},
    }
    (tmp_path / "body.json").write_text(json.dumps(body), encoding="utf-8")
    signed = run_tizim(
        "eds",
        "sign",
        str(tmp_path / "body.json"),
        "--key",
        str(tmp_path / f"{iin}.key.pem"),
        "--cert",
        str(tmp_path / f"{iin}.cert.pem"),
        database_url=registry_url,
    )
    assert signed.returncode == 0, signed.stderr
    request = json.loads(signed.stdout)
    with registry.transaction() as conn:
        set_registry_available(conn, "customs", available=False, now=NOW)
        number = submit_application(
            conn,
            request["body"],
            request["signature"],
            request["certificate"],
            provider="p1",
            language="kk",
            now=NOW,
            rules=registry.rules,
            policy=ApplicationPolicy.from_settings(registry.settings),
            registries=reference_registries(conn, registry.rules),
        )
        pay_application(
            conn,
            number,
            gateway=ReferencePaymentGateway(conn),
            now=NOW,
            rules=registry.rules,
            registries=reference_registries(conn, registry.rules),
            actor="test",
        )
    listed = run_tizim("applications", "list", database_url=registry_url)
    assert listed.returncode == 0 and number in listed.stdout and iin in listed.stdout
    refused_without_note = run_tizim(
        "applications", "decide", number, "refuse", "--staff", "aigerim", database_url=registry_url
    )
    assert refused_without_note.returncode == 2
    decided = run_tizim(
        "applications",
        "decide",
        number,
        "approve",
        "--staff",
        "aigerim",
        "--now",
        NOW.isoformat(),
        database_url=registry_url,
    )
    assert decided.returncode == 0, decided.stderr
    shown = run_tizim("applications", "show", number, "--json", database_url=registry_url)
    view = json.loads(shown.stdout)
    assert view["status"] == "approved" and view["applicant_iin"] == iin
    assert view["history"][-1]["actor"] == "staff:aigerim"
    again = run_tizim(
        "applications", "decide", number, "approve", "--staff", "aigerim", database_url=registry_url
    )
    assert again.returncode == 1 and "approved" in again.stderr


def test_show_of_an_unknown_application_is_a_clear_refusal(registry_url: str) -> None:
    shown = run_tizim("applications", "show", "KZ-2025-999999", database_url=registry_url)
    assert shown.returncode == 1 and "no application KZ-2025-999999" in shown.stderr
