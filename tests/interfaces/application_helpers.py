"""Shared set-up for the owner-application tests: people with test EDS certificates, devices,
state-registry data loaded through the real feed loaders, and signed bodies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection

from tests.support.servers import running_http_server
from tizim.clock import FixedClock
from tizim.domain.iin import iin_check_digit
from tizim.domain.imei import check_digit
from tizim.eds_test_ca import IssuedCertificate, issue_test_certificate, sign_body
from tizim.interfaces.http.app import create_app
from tizim.runtime import Runtime
from tizim.services.orgs import Role, create_organisation
from tizim.services.state_feeds import load_border, load_customs, load_parcels
from tizim.storage.schema import tacs

NOW = datetime(2025, 9, 1, 5, 0, tzinfo=UTC)  # 10:00 in Almaty
TAC_DUAL = "35290611"  # a dual-SIM model
TAC_OTHER = "35391805"  # another model, single SIM


def make_iin(birth: str = "900101", century_sex: int = 3, serial: int = 1) -> str:
    """A valid IIN: the first serial from `serial` on whose check digit exists."""
    while True:
        first11 = f"{birth}{century_sex}{serial:04d}"
        digit = iin_check_digit(first11)
        if digit is not None:
            return first11 + str(digit)
        serial += 1


def make_imei(tac: str, serial: int) -> str:
    body = f"{tac}{serial:06d}"
    return body + check_digit(body)


@dataclass(frozen=True)
class Person:
    iin: str
    cert: IssuedCertificate

    def sign(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "body": body,
            "signature": sign_body(body, self.cert.key_pem),
            "certificate": self.cert.certificate_pem,
        }


def person(serial: int = 1, *, now: datetime = NOW, key_kind: str = "ec") -> Person:
    iin = make_iin(serial=serial)
    return Person(iin, issue_test_certificate(iin, now=now, key_kind=key_kind))


def load_tacs(conn: Connection) -> None:
    conn.execute(
        tacs.insert(),
        [
            {
                "tac": TAC_DUAL,
                "brand": "Samsung",
                "model": "Galaxy A55",
                "device_type": "phone",
                "sim_slots": 2,
            },
            {
                "tac": TAC_OTHER,
                "brand": "Apple",
                "model": "iPhone 15",
                "device_type": "phone",
                "sim_slots": 1,
            },
        ],
    )


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def load_state_data(
    registry: Runtime,
    tmp_path: Path,
    *,
    customs: list[str] = (),  # type: ignore[assignment]
    border: list[str] = (),  # type: ignore[assignment]
    parcels: list[str] = (),  # type: ignore[assignment]
) -> None:
    with registry.transaction() as conn:
        if customs:
            path = _csv(
                tmp_path / "customs.csv",
                "declaration_number,declarant_iin,declared_on,imei",
                list(customs),
            )
            assert load_customs(
                conn, path, now=NOW, rules=registry.rules, loaded_by="test"
            ).rows_accepted
        if border:
            path = _csv(
                tmp_path / "border.csv", "iin,crossed_at,direction,checkpoint", list(border)
            )
            assert load_border(
                conn, path, now=NOW, rules=registry.rules, loaded_by="test"
            ).rows_accepted
        if parcels:
            path = _csv(
                tmp_path / "parcels.csv",
                "tracking_number,recipient_iin,delivered_on,description",
                list(parcels),
            )
            assert load_parcels(
                conn, path, now=NOW, rules=registry.rules, loaded_by="test"
            ).rows_accepted


def verification_body(
    iin: str, imeis: list[str], proof: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {"type": "verification", "applicant_iin": iin, "imeis": imeis, "proof": proof, **extra}


@dataclass
class Api:
    client: httpx.Client
    clock: FixedClock
    registry: Runtime
    keys: dict[str, str]

    def post(
        self, path: str, payload: dict[str, Any], who: str = "provider", **params: str
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return self.client.post(path, json=payload, headers=headers, params=params)

    def get(self, path: str, who: str = "provider", **params: str) -> httpx.Response:
        return self.client.get(
            path, headers={"Authorization": f"Bearer {self.keys[who]}"}, params=params
        )

    def submit(self, applicant: Person, body: dict[str, Any]) -> httpx.Response:
        return self.post("/api/v1/applications", applicant.sign(body))

    def submit_and_pay(self, applicant: Person, body: dict[str, Any]) -> dict[str, Any]:
        submitted = self.submit(applicant, body)
        assert submitted.status_code == 201, submitted.text
        paid = self.post(f"/api/v1/applications/{submitted.json()['number']}/payments", {})
        assert paid.status_code == 200, paid.text
        return paid.json()

    def imei_list(self, imei: str) -> dict[str, Any]:
        return self.client.get(f"/api/v1/imeis/{imei}").json()


@contextmanager
def serving_api(registry: Runtime) -> Iterator[Api]:
    """The real HTTP server on a fixed clock, with a provider, a second provider, staff and an
    operator (keys by code), and the TAC table loaded."""
    keys: dict[str, str] = {}
    with registry.transaction() as conn:
        load_tacs(conn)
        for code, role in (
            ("provider", Role.VERIFICATION_PROVIDER),
            ("provider2", Role.VERIFICATION_PROVIDER),
            ("staff", Role.REGISTRY_STAFF),
            ("operator", Role.OPERATOR),
        ):
            keys[code] = create_organisation(conn, code=code, role=role, now=NOW)[1]
    clock = FixedClock(NOW)
    with (
        running_http_server(create_app(registry, clock)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield Api(client, clock, registry, keys)
