"""What makes an owner's application acceptable, with every reason it may be refused.

Each failed rule is a value `Failure(code, field, params)`: the code names the rule, the field
names what the person must correct (`applicant_iin`, `imeis[1]`, `proof.entry_date`...), and
the params fill the message (`tizim.i18n`, domain "reasons", keyed by the code). A refusal
lists every failure found, so a person fixes everything at once instead of being refused
five times. The state registries are asked by the service; these functions judge the data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tizim.domain.iin import iin_problem, normalise_iin
from tizim.domain.imei import authenticity_reason, read_imei
from tizim.domain.reasons import Reason

MAX_IMEIS_PER_DEVICE = 4
PHONE_WORDS = (
    "телефон",
    "смартфон",
    "phone",
    "smartphone",
    "mobile",
    "iphone",
    "ұялы",
    "сотовый",
    "мобильный",
    "gsm",
)
"""A parcel proves a phone only if its description says so, in any of the three languages."""


class Code(StrEnum):
    """Application refusal codes; each has a message in kk/ru/en (locale/*/reasons.po)."""

    IIN_INVALID_FORMAT = "IIN_INVALID_FORMAT"
    IIN_INVALID_CENTURY = "IIN_INVALID_CENTURY"
    IIN_INVALID_BIRTH_DATE = "IIN_INVALID_BIRTH_DATE"
    IIN_INVALID_CHECK_DIGIT = "IIN_INVALID_CHECK_DIGIT"
    IMEI_COUNT = "IMEI_COUNT"
    IMEI_DUPLICATE = "IMEI_DUPLICATE"
    IMEI_INVALID_FORMAT = "IMEI_INVALID_FORMAT"
    IMEI_INVALID_CHECK_DIGIT = "IMEI_INVALID_CHECK_DIGIT"
    IMEI_RESERVED = "IMEI_RESERVED"
    IMEI_UNKNOWN_TAC = "IMEI_UNKNOWN_TAC"
    IMEI_MODELS_DIFFER = "IMEI_MODELS_DIFFER"
    IMEI_TOO_MANY_FOR_MODEL = "IMEI_TOO_MANY_FOR_MODEL"
    IMEI_REPORTED_STOLEN = "IMEI_REPORTED_STOLEN"
    IMEI_GSMA_BLACKLISTED = "IMEI_GSMA_BLACKLISTED"
    IMEI_ALREADY_WHITE = "IMEI_ALREADY_WHITE"
    IMEI_APPLICATION_PENDING = "IMEI_APPLICATION_PENDING"
    PROOF_MISSING = "PROOF_MISSING"
    PROOF_REFERENCE_MISSING = "PROOF_REFERENCE_MISSING"
    CUSTOMS_DECLARATION_NOT_FOUND = "CUSTOMS_DECLARATION_NOT_FOUND"
    CUSTOMS_DECLARANT_MISMATCH = "CUSTOMS_DECLARANT_MISMATCH"
    CUSTOMS_IMEI_NOT_DECLARED = "CUSTOMS_IMEI_NOT_DECLARED"
    BORDER_DATE_MISSING = "BORDER_DATE_MISSING"
    BORDER_DATE_IN_FUTURE = "BORDER_DATE_IN_FUTURE"
    BORDER_ENTRY_NOT_FOUND = "BORDER_ENTRY_NOT_FOUND"
    BORDER_DEVICE_SEEN_BEFORE_ENTRY = "BORDER_DEVICE_SEEN_BEFORE_ENTRY"
    PARCEL_NOT_FOUND = "PARCEL_NOT_FOUND"
    PARCEL_RECIPIENT_MISMATCH = "PARCEL_RECIPIENT_MISMATCH"
    PARCEL_NOT_DELIVERED = "PARCEL_NOT_DELIVERED"
    PARCEL_NOT_A_PHONE = "PARCEL_NOT_A_PHONE"
    SIGNATURE_MISSING = "SIGNATURE_MISSING"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    CERTIFICATE_INVALID = "CERTIFICATE_INVALID"
    CERTIFICATE_UNTRUSTED = "CERTIFICATE_UNTRUSTED"
    CERTIFICATE_NOT_VALID_NOW = "CERTIFICATE_NOT_VALID_NOW"
    CERTIFICATE_NO_IIN = "CERTIFICATE_NO_IIN"
    CERTIFICATE_IIN_MISMATCH = "CERTIFICATE_IIN_MISMATCH"
    RESUBMISSION_NOT_ALLOWED = "RESUBMISSION_NOT_ALLOWED"
    PAIRING_IMEI_NOT_GREY = "PAIRING_IMEI_NOT_GREY"
    PAIRING_DEVICE_NOT_WHITE = "PAIRING_DEVICE_NOT_WHITE"
    PAIRING_NOT_OWNER = "PAIRING_NOT_OWNER"
    PAIRING_TAC_MISMATCH = "PAIRING_TAC_MISMATCH"
    PAIRING_SLOTS_EXCEEDED = "PAIRING_SLOTS_EXCEEDED"
    REFUSED_BY_STAFF = "REFUSED_BY_STAFF"


@dataclass(frozen=True, slots=True)
class Failure:
    code: Code
    field: str | None
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)


class ProofKind(StrEnum):
    CUSTOMS = "customs"
    BORDER = "border"
    PARCEL = "parcel"


@dataclass(frozen=True, slots=True)
class TacModel:
    """What the TAC table says about one TAC."""

    brand: str
    model: str
    sim_slots: int


@dataclass(frozen=True, slots=True)
class ImeiState:
    """What the registry already knows about one IMEI, as far as an application cares."""

    list: str  # white | grey | black | unknown
    reported_stolen: bool = False
    gsma_blacklisted: bool = False


_AUTHENTICITY_CODES = {
    Reason.INVALID_FORMAT: Code.IMEI_INVALID_FORMAT,
    Reason.INVALID_CHECK_DIGIT: Code.IMEI_INVALID_CHECK_DIGIT,
    Reason.RESERVED_IMEI: Code.IMEI_RESERVED,
    Reason.UNKNOWN_TAC: Code.IMEI_UNKNOWN_TAC,
}


def check_iin(raw: str, field_name: str = "applicant_iin") -> list[Failure]:
    problem = iin_problem(raw)
    return [] if problem is None else [Failure(Code(problem.value), field_name)]


def read_device_imeis(
    raw_imeis: Sequence[str], reserved_tac_prefixes: tuple[str, ...]
) -> tuple[tuple[str, ...], list[Failure]]:
    """The 15-digit IMEIs of one device, and the failures of their form (count, each IMEI)."""
    if not 1 <= len(raw_imeis) <= MAX_IMEIS_PER_DEVICE:
        return (), [Failure(Code.IMEI_COUNT, "imeis", {"count": str(len(raw_imeis))})]
    failures: list[Failure] = []
    imeis: list[str] = []
    for position, raw in enumerate(raw_imeis):
        reading = read_imei(raw, reserved_tac_prefixes)
        where = f"imeis[{position}]"
        if reading.invalid_reason is not None:
            code = _AUTHENTICITY_CODES[reading.invalid_reason]
            failures.append(Failure(code, where, {"imei": raw}))
        elif reading.imei in imeis:
            failures.append(Failure(Code.IMEI_DUPLICATE, where, {"imei": reading.imei}))
        elif reading.imei is not None:
            imeis.append(reading.imei)
    return tuple(imeis), failures


def check_device_consistency(
    imeis: Sequence[str], models: Mapping[str, TacModel], *, tac_database_loaded: bool
) -> list[Failure]:
    """One device: every TAC known, one brand and model, no more IMEIs than the model's slots.

    Without a TAC database nothing can be said about models, so only the count rule of
    `read_device_imeis` applies (the same convention as the UNKNOWN_TAC list rule).
    """
    if not tac_database_loaded or not imeis:
        return []
    failures = [
        Failure(Code.IMEI_UNKNOWN_TAC, f"imeis[{position}]", {"imei": imei})
        for position, imei in enumerate(imeis)
        if authenticity_reason(read_imei(imei), imei[:8] in models) is Reason.UNKNOWN_TAC
    ]
    if failures:
        return failures
    found = [models[imei[:8]] for imei in imeis]
    names = sorted({f"{m.brand} {m.model}" for m in found})
    if len(names) > 1:
        return [Failure(Code.IMEI_MODELS_DIFFER, "imeis", {"models": ", ".join(names)})]
    slots = found[0].sim_slots
    if len(imeis) > slots:
        params = {"count": str(len(imeis)), "slots": str(slots), "model": names[0]}
        return [Failure(Code.IMEI_TOO_MANY_FOR_MODEL, "imeis", params)]
    return []


def check_imei_states(imeis: Sequence[str], states: Mapping[str, ImeiState]) -> list[Failure]:
    """A verification cannot clear a stolen or GSMA-blocked IMEI, and a white one needs none."""
    failures: list[Failure] = []
    for position, imei in enumerate(imeis):
        state = states.get(imei)
        if state is None:
            continue
        where = f"imeis[{position}]"
        if state.reported_stolen:
            failures.append(Failure(Code.IMEI_REPORTED_STOLEN, where, {"imei": imei}))
        elif state.gsma_blacklisted:
            failures.append(Failure(Code.IMEI_GSMA_BLACKLISTED, where, {"imei": imei}))
        elif state.list == "white":
            failures.append(Failure(Code.IMEI_ALREADY_WHITE, where, {"imei": imei}))
    return failures


def check_customs_proof(
    *,
    applicant_iin: str,
    imeis: Sequence[str],
    declaration_number: str,
    declarant_iin: str | None,
    declared_imeis: frozenset[str],
) -> list[Failure]:
    """The declaration exists (declarant not None), its declarant is the applicant, and it
    lists every IMEI of the device."""
    where = "proof.declaration_number"
    if declarant_iin is None:
        return [Failure(Code.CUSTOMS_DECLARATION_NOT_FOUND, where, {"number": declaration_number})]
    failures: list[Failure] = []
    if normalise_iin(declarant_iin) != normalise_iin(applicant_iin):
        failures.append(
            Failure(Code.CUSTOMS_DECLARANT_MISMATCH, where, {"number": declaration_number})
        )
    failures.extend(
        Failure(
            Code.CUSTOMS_IMEI_NOT_DECLARED,
            f"imeis[{position}]",
            {"imei": imei, "number": declaration_number},
        )
        for position, imei in enumerate(imeis)
        if imei not in declared_imeis
    )
    return failures


def check_border_proof(
    *,
    entry_date: date | None,
    today: date,
    entered_that_day: bool,
    imeis: Sequence[str],
    first_seen_dates: Mapping[str, date],
) -> list[Failure]:
    """The applicant entered Kazakhstan on the stated day, and no IMEI of the device was in a
    Kazakh network before that day (else the phone was here before its owner brought it)."""
    where = "proof.entry_date"
    if entry_date is None:
        return [Failure(Code.BORDER_DATE_MISSING, where)]
    if entry_date > today:
        return [Failure(Code.BORDER_DATE_IN_FUTURE, where, {"date": entry_date.isoformat()})]
    failures: list[Failure] = []
    if not entered_that_day:
        failures.append(
            Failure(Code.BORDER_ENTRY_NOT_FOUND, where, {"date": entry_date.isoformat()})
        )
    for position, imei in enumerate(imeis):
        seen = first_seen_dates.get(imei)
        if seen is not None and seen < entry_date:
            params = {"imei": imei, "seen": seen.isoformat(), "date": entry_date.isoformat()}
            failures.append(
                Failure(Code.BORDER_DEVICE_SEEN_BEFORE_ENTRY, f"imeis[{position}]", params)
            )
    return failures


def check_parcel_proof(
    *,
    applicant_iin: str,
    tracking_number: str,
    found: bool,
    recipient_iin: str | None,
    delivered_on: date | None,
    description: str,
) -> list[Failure]:
    """The parcel exists, was delivered to the applicant, and its description names a phone."""
    where = "proof.tracking_number"
    params = {"number": tracking_number}
    if not found:
        return [Failure(Code.PARCEL_NOT_FOUND, where, params)]
    failures: list[Failure] = []
    if recipient_iin is None or normalise_iin(recipient_iin) != normalise_iin(applicant_iin):
        failures.append(Failure(Code.PARCEL_RECIPIENT_MISMATCH, where, params))
    if delivered_on is None:
        failures.append(Failure(Code.PARCEL_NOT_DELIVERED, where, params))
    if not describes_a_phone(description):
        failures.append(Failure(Code.PARCEL_NOT_A_PHONE, where, params))
    return failures


def describes_a_phone(description: str) -> bool:
    text = description.casefold()
    return any(word in text for word in PHONE_WORDS)


def check_proof_given(kind: str | None, reference: str | None) -> list[Failure]:
    """A proof of one known kind, and for customs/parcel its number (border needs a date)."""
    if kind not in {k.value for k in ProofKind}:
        return [Failure(Code.PROOF_MISSING, "proof.kind", {"kind": kind or ""})]
    if kind != ProofKind.BORDER and not (reference or "").strip():
        name = "declaration_number" if kind == ProofKind.CUSTOMS else "tracking_number"
        return [Failure(Code.PROOF_REFERENCE_MISSING, f"proof.{name}")]
    return []


def check_pairing(
    *,
    new_imei: str,
    new_state: ImeiState | None,
    device_imei: str,
    device_state: ImeiState | None,
    verified_by_applicant: bool,
    device_imeis: Sequence[str],
    sim_slots: int | None,
) -> list[Failure]:
    """The simplified second-IMEI application: a grey IMEI joins the applicant's white device
    when it shares a TAC with one of the device's IMEIs and the model has a free slot."""
    failures: list[Failure] = []
    if new_state is None or new_state.list != "grey":
        listed = new_state.list if new_state else "unknown"
        params = {"imei": new_imei, "list": listed}
        failures.append(Failure(Code.PAIRING_IMEI_NOT_GREY, "imei", params))
    if device_state is None or device_state.list != "white":
        failures.append(
            Failure(Code.PAIRING_DEVICE_NOT_WHITE, "device_imei", {"imei": device_imei})
        )
        return failures
    if not verified_by_applicant:
        failures.append(Failure(Code.PAIRING_NOT_OWNER, "device_imei", {"imei": device_imei}))
        return failures
    if all(imei[:8] != new_imei[:8] for imei in device_imeis):
        params = {"imei": new_imei, "device_imei": device_imei}
        failures.append(Failure(Code.PAIRING_TAC_MISMATCH, "imei", params))
    if sim_slots is not None and len(device_imeis) + 1 > sim_slots:
        params = {"slots": str(sim_slots), "count": str(len(device_imeis))}
        failures.append(Failure(Code.PAIRING_SLOTS_EXCEEDED, "imei", params))
    return failures
