"""EDS verification: canonical JSON, RSA (PKCS#1 v1.5 and PSS) and ECDSA, chains, validity, IIN."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from tizim.domain.applications import Code
from tizim.eds_test_ca import create_ca, issue_test_certificate, sign_body
from tizim.services.signatures import (
    canonical_json,
    certificate_iin,
    trust_store_from_setting,
    verify_signed_body,
)

NOW = datetime(2025, 9, 1, 5, 0, tzinfo=UTC)
IIN = "900101300017"
BODY = {
    "applicant_iin": IIN,
    "imeis": ["352906110000017"],
    "proof": {"kind": "parcel", "tracking_number": "Т-1"},
}
TRUST = trust_store_from_setting("")


def check(
    body: dict,
    signature: str | None,
    certificate: str | None,
    *,
    iin: str = IIN,
    now: datetime = NOW,
    trust=TRUST,
) -> list[Code]:  # type: ignore[no-untyped-def,type-arg]
    return [
        f.code
        for f in verify_signed_body(
            body,
            signature_b64=signature,
            certificate_pem=certificate,
            iin=iin,
            now=now,
            trust=trust,
        )
    ]


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": ["ж", {"d": 2, "c": None}]})
        == '{"a":["ж",{"c":null,"d":2}],"b":1}'.encode()
    )


@pytest.mark.parametrize(("kind", "pss"), [("ec", False), ("rsa", False), ("rsa", True)])
def test_a_good_signature_passes_every_check(kind: str, pss: bool) -> None:
    issued = issue_test_certificate(IIN, now=NOW, key_kind=kind)
    assert check(BODY, sign_body(BODY, issued.key_pem, pss=pss), issued.certificate_pem) == []


def test_key_order_in_the_submitted_body_does_not_matter() -> None:
    issued = issue_test_certificate(IIN, now=NOW)
    signature = sign_body(BODY, issued.key_pem)
    reordered = dict(reversed(list(BODY.items())))
    assert check(reordered, signature, issued.certificate_pem) == []


def test_every_failure_is_named() -> None:
    issued = issue_test_certificate(IIN, now=NOW)
    good = sign_body(BODY, issued.key_pem)
    assert check(BODY, None, issued.certificate_pem) == [Code.SIGNATURE_MISSING]
    assert check(BODY, good, "not a certificate") == [Code.CERTIFICATE_INVALID]
    assert check({**BODY, "imeis": []}, good, issued.certificate_pem) == [Code.SIGNATURE_INVALID]
    assert check(BODY, "%%%not base64", issued.certificate_pem) == [Code.SIGNATURE_INVALID]
    assert check(BODY, good, issued.certificate_pem, iin="900101300811") == [
        Code.CERTIFICATE_IIN_MISMATCH
    ]
    later = NOW + timedelta(days=400)
    assert check(BODY, good, issued.certificate_pem, now=later) == [Code.CERTIFICATE_NOT_VALID_NOW]


def test_a_certificate_from_another_ca_is_untrusted_until_that_ca_is_configured(
    tmp_path: Path,
) -> None:
    other = create_ca("Another CA", not_before=NOW - timedelta(days=1), days=30)
    issued = issue_test_certificate(IIN, now=NOW, ca=other)
    signature = sign_body(BODY, issued.key_pem)
    assert check(BODY, signature, issued.certificate_pem) == [Code.CERTIFICATE_UNTRUSTED]
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "another.pem").write_text(other.certificate_pem)
    configured = trust_store_from_setting(str(tmp_path / "roots"))
    assert check(BODY, signature, issued.certificate_pem, trust=configured) == []


def test_a_person_certificate_cannot_act_as_an_intermediate_ca(tmp_path: Path) -> None:
    root = create_ca("Root", not_before=NOW - timedelta(days=1), days=30)
    intermediate = issue_test_certificate("000000000000", now=NOW, ca=root)  # ca=False
    issued = issue_test_certificate(IIN, now=NOW, ca=intermediate)
    (tmp_path / "root.pem").write_text(root.certificate_pem)
    trust = trust_store_from_setting(str(tmp_path / "root.pem"))
    chain = issued.certificate_pem + intermediate.certificate_pem
    signature = sign_body(BODY, issued.key_pem)
    assert check(BODY, signature, chain, trust=trust) == [Code.CERTIFICATE_UNTRUSTED]


def test_the_iin_is_read_from_the_subject_serial_number() -> None:
    issued = issue_test_certificate(IIN, now=NOW)
    certificate = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    assert certificate_iin(certificate) == IIN
    ca = x509.load_pem_x509_certificate(
        create_ca("x", not_before=NOW, days=1).certificate_pem.encode()
    )
    assert certificate_iin(ca) is None


def test_the_shipped_test_ca_is_marked_test_only() -> None:
    text = (Path(__file__).parents[2] / "src/tizim/data/eds-test-ca.pem").read_text()
    assert "TEST ONLY" in text
