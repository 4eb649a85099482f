"""Electronic digital signatures (EDS / ЭЦП) on applications: what is signed and how it is checked.

What is signed — the canonical JSON of the application body: keys sorted, UTF-8 (non-ASCII
characters as themselves, not \\u escapes), no whitespace (separators "," and ":"). Any client
produces the same bytes from the same object, so the registry verifies exactly what the person
saw. The signature travels as base64 of the raw signature (ECDSA: DER), with the signer's
certificate in PEM (optionally followed by intermediate CA certificates).

Accepted: RSA (PKCS#1 v1.5 or PSS) and ECDSA, with SHA-256 (GOST 34.10 may come later). The
certificate must chain to a configured trusted CA (`TIZIM_EDS_TRUSTED_CA_FILES`; default the
shipped TEST CA), be valid at `now`, and carry the applicant's IIN the way Kazakh NCA
certificates do: subject serialNumber = "IIN" + 12 digits.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tizim.domain.applications import Code, Failure

SHIPPED_TEST_CA = Path(__file__).parent.parent / "data" / "eds-test-ca.pem"
MAX_CHAIN_LENGTH = 4
_IIN_SERIAL = re.compile(r"^IIN(\d{12})$")


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """The bytes an applicant signs: sorted keys, UTF-8, no spaces."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class TrustStore:
    anchors: tuple[x509.Certificate, ...]


def trust_store_from_setting(setting: str) -> TrustStore:
    """Trusted CA certificates named by `TIZIM_EDS_TRUSTED_CA_FILES` (files or directories of
    *.pem, separated by os.pathsep); an empty setting trusts the shipped TEST CA only."""
    return _load_trust_store(setting)


@lru_cache(maxsize=8)
def _load_trust_store(setting: str) -> TrustStore:
    paths = [Path(p) for p in setting.split(os.pathsep) if p.strip()] or [SHIPPED_TEST_CA]
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.pem")) if path.is_dir() else [path])
    anchors: list[x509.Certificate] = []
    for file in files:
        anchors.extend(x509.load_pem_x509_certificates(file.read_bytes()))
    return TrustStore(tuple(anchors))


def certificate_iin(certificate: x509.Certificate) -> str | None:
    """The IIN in the subject's serialNumber ("IIN123456789012"), as NCA certificates carry it."""
    for attribute in certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        value = attribute.value if isinstance(attribute.value, str) else ""
        match = _IIN_SERIAL.match(value.strip())
        if match:
            return match.group(1)
    return None


def verify_signed_body(
    body: Mapping[str, Any],
    *,
    signature_b64: str | None,
    certificate_pem: str | None,
    iin: str,
    now: datetime,
    trust: TrustStore,
) -> list[Failure]:
    """Every reason the signature does not prove that the holder of `iin` signed `body`."""
    if not signature_b64 or not certificate_pem:
        return [Failure(Code.SIGNATURE_MISSING, "signature")]
    try:
        chain = x509.load_pem_x509_certificates(certificate_pem.encode())
    except ValueError:
        return [Failure(Code.CERTIFICATE_INVALID, "certificate")]
    leaf, intermediates = chain[0], chain[1:]
    failures: list[Failure] = []
    if not _chains_to_anchor(leaf, intermediates, trust.anchors, now):
        failures.append(Failure(Code.CERTIFICATE_UNTRUSTED, "certificate"))
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        params = {"until": leaf.not_valid_after_utc.date().isoformat()}
        failures.append(Failure(Code.CERTIFICATE_NOT_VALID_NOW, "certificate", params))
    holder = certificate_iin(leaf)
    if holder is None:
        failures.append(Failure(Code.CERTIFICATE_NO_IIN, "certificate"))
    elif holder != iin:
        failures.append(Failure(Code.CERTIFICATE_IIN_MISMATCH, "certificate"))
    if not _signature_matches(leaf, canonical_json(body), signature_b64):
        failures.append(Failure(Code.SIGNATURE_INVALID, "signature"))
    return failures


def _signature_matches(certificate: x509.Certificate, data: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    key = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            return True
        if isinstance(key, rsa.RSAPublicKey):
            return _rsa_matches(key, signature, data)
    except InvalidSignature:
        return False
    return False


def _rsa_matches(key: rsa.RSAPublicKey, signature: bytes, data: bytes) -> bool:
    schemes: Sequence[padding.AsymmetricPadding] = (
        padding.PKCS1v15(),
        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO),
    )
    for scheme in schemes:
        try:
            key.verify(signature, data, scheme, hashes.SHA256())
            return True
        except InvalidSignature:
            continue
    return False


def _chains_to_anchor(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    now: datetime,
) -> bool:
    """Walk issuer links from the leaf through the given intermediates to a trusted anchor;
    every CA on the way must be a CA (basicConstraints) and valid at `now`."""
    current = leaf
    for _ in range(MAX_CHAIN_LENGTH):
        if any(_issued_by(current, anchor, now) for anchor in anchors):
            return True
        issuer = next((c for c in intermediates if _issued_by(current, c, now)), None)
        if issuer is None:
            return False
        current = issuer
    return False


def _issued_by(child: x509.Certificate, issuer: x509.Certificate, now: datetime) -> bool:
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not constraints.ca or not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
