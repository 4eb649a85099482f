"""TEST ONLY: a certificate authority for electronic digital signatures (EDS / ЭЦП) in demos
and tests. Never trust it in production: set TIZIM_EDS_TRUSTED_CA_FILES to the real NCA roots.

The shipped CA (`tizim/data/eds-test-ca.pem` and its key `eds-test-ca.key.pem`, both marked
TEST ONLY) issues certificates shaped like those of the Kazakh National Certification Centre
(NCA / ҰКО): the subject carries `serialNumber=IIN<12 digits>`, the owner's name in CN, C=KZ.
Keys are ECDSA P-256 by default, RSA 2048 on request; signatures are made over the canonical
JSON of the application body (`tizim.services.signatures.canonical_json`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tizim.services.signatures import canonical_json

DATA_DIR = Path(__file__).parent / "data"
TEST_CA_CERT = DATA_DIR / "eds-test-ca.pem"
TEST_CA_KEY = DATA_DIR / "eds-test-ca.key.pem"
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class IssuedCertificate:
    certificate_pem: str
    key_pem: str


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def create_ca(common_name: str, *, not_before: datetime, days: int) -> IssuedCertificate:
    """A self-signed CA (tests make their own "untrusted" CA with this)."""
    key = new_key("ec")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tizim TEST ONLY"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return IssuedCertificate(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem(key))


def load_test_ca() -> IssuedCertificate:
    return IssuedCertificate(TEST_CA_CERT.read_text(), TEST_CA_KEY.read_text())


def issue_test_certificate(
    iin: str,
    *,
    now: datetime,
    days: int = 365,
    key_kind: str = "ec",
    name: str = "TEST APPLICANT",
    ca: IssuedCertificate | None = None,
) -> IssuedCertificate:
    """A signing certificate for `iin`, valid from `now` for `days`, issued by `ca` (default:
    the shipped TEST CA)."""
    ca = ca or load_test_ca()
    ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    ca_key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("the CA key must be ECDSA or RSA")
    key = new_key(key_kind)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return IssuedCertificate(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem(key))


def sign_body(body: Mapping[str, Any], private_key_pem: str, *, pss: bool = False) -> str:
    """Base64 of the signature over the canonical JSON of `body` (SHA-256; ECDSA signatures
    DER-encoded, RSA PKCS#1 v1.5 or, with `pss`, PSS with a digest-length salt)."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    data = canonical_json(body)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, rsa.RSAPrivateKey):
        scheme: padding.AsymmetricPadding = (
            padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
            if pss
            else padding.PKCS1v15()
        )
        signature = key.sign(data, scheme, hashes.SHA256())
    else:
        raise ValueError("only ECDSA and RSA keys can sign applications")
    return base64.b64encode(signature).decode()


def write_test_certificate(
    iin: str, out_dir: Path, *, now: datetime, key_kind: str = "ec"
) -> tuple[Path, Path]:
    """Write `<iin>.cert.pem` and `<iin>.key.pem` (TEST ONLY) into `out_dir`; returns the paths."""
    issued = issue_test_certificate(iin, now=now, key_kind=key_kind)
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path = out_dir / f"{iin}.cert.pem"
    key_path = out_dir / f"{iin}.key.pem"
    cert_path.write_text(issued.certificate_pem)
    key_path.write_text(issued.key_pem)
    key_path.chmod(0o600)
    return cert_path, key_path
