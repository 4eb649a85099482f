"""The rules of an owner's application, one table per rule, and a message for every reason."""

from __future__ import annotations

from datetime import date

import pytest

from tizim.domain.applications import (
    Code,
    ImeiState,
    TacModel,
    check_border_proof,
    check_customs_proof,
    check_device_consistency,
    check_iin,
    check_imei_states,
    check_pairing,
    check_parcel_proof,
    check_proof_given,
    describes_a_phone,
    read_device_imeis,
)
from tizim.domain.imei import DEFAULT_RESERVED_TAC_PREFIXES, check_digit
from tizim.domain.reasons import Reason
from tizim.i18n import LANGUAGES, catalogue, missing_messages, translate

IIN = "900101300017"
OTHER_IIN = "900101300811"


def imei(tac: str, serial: int) -> str:
    body = f"{tac}{serial:06d}"
    return body + check_digit(body)


A1, A2, A3 = imei("35290611", 1), imei("35290611", 2), imei("35290611", 3)
B1 = imei("35391805", 1)
MODELS = {
    "35290611": TacModel("Samsung", "Galaxy A55", 2),
    "35391805": TacModel("Apple", "iPhone 15", 1),
}


def codes(failures: list) -> list[Code]:  # type: ignore[type-arg]
    return [failure.code for failure in failures]


def test_every_refusal_and_list_reason_has_a_real_message_in_kazakh_russian_and_english() -> None:
    keys = [code.value for code in Code] + [reason.value for reason in Reason]
    assert missing_messages("reasons", keys) == {}
    for key in keys:
        texts = {lang: catalogue("reasons", lang)[key] for lang in LANGUAGES}
        assert len(set(texts.values())) == 3, key  # not copied from one language
        assert all(len(text) > 30 and text != key for text in texts.values()), key
    # Kazakh messages use Kazakh letters, not only the Russian alphabet
    kazakh = "".join(catalogue("reasons", "kk").values())
    assert set("әғқңөұүһі") & set(kazakh.lower()) >= set("әқңұі")


def test_messages_fill_their_placeholders() -> None:
    text = translate("IMEI_TOO_MANY_FOR_MODEL", "ru", model="Galaxy A55", slots="2", count="3")
    assert "Galaxy A55" in text and "{" not in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([A1, A2], []),
        ([A1[:14]], []),  # 14 digits: the check digit is computed
        ([], [Code.IMEI_COUNT]),
        ([A1, A2, A3, B1, imei("35290611", 9)], [Code.IMEI_COUNT]),
        ([A1, A1], [Code.IMEI_DUPLICATE]),
        (["12345"], [Code.IMEI_INVALID_FORMAT]),
        ([A1[:14] + str((int(A1[14]) + 1) % 10)], [Code.IMEI_INVALID_CHECK_DIGIT]),
        (["123456789012347"], [Code.IMEI_RESERVED]),
    ],
)
def test_the_imeis_of_one_device(raw: list[str], expected: list[Code]) -> None:
    assert codes(read_device_imeis(raw, DEFAULT_RESERVED_TAC_PREFIXES)[1]) == expected


def test_an_invalid_imei_names_its_position() -> None:
    failures = read_device_imeis([A1, "12345"], DEFAULT_RESERVED_TAC_PREFIXES)[1]
    assert failures[0].field == "imeis[1]" and failures[0].params["imei"] == "12345"


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ([A1, A2], []),
        ([A1, B1], [Code.IMEI_MODELS_DIFFER]),
        ([A1, A2, A3], [Code.IMEI_TOO_MANY_FOR_MODEL]),
        ([imei("99999999", 1)], [Code.IMEI_UNKNOWN_TAC]),
    ],
)
def test_the_imeis_are_one_device_of_one_model(device: list[str], expected: list[Code]) -> None:
    assert codes(check_device_consistency(device, MODELS, tac_database_loaded=True)) == expected


def test_without_a_tac_database_models_are_not_judged() -> None:
    assert check_device_consistency([A1, B1], {}, tac_database_loaded=False) == []


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (ImeiState("grey"), []),
        (ImeiState("black"), []),  # black by an expired grace period: verification clears it
        (ImeiState("black", reported_stolen=True), [Code.IMEI_REPORTED_STOLEN]),
        (ImeiState("black", gsma_blacklisted=True), [Code.IMEI_GSMA_BLACKLISTED]),
        (ImeiState("white"), [Code.IMEI_ALREADY_WHITE]),
    ],
)
def test_what_the_registry_knows_of_the_imei(state: ImeiState, expected: list[Code]) -> None:
    assert codes(check_imei_states([A1], {A1: state})) == expected


@pytest.mark.parametrize(
    ("declarant", "declared", "expected"),
    [
        (IIN, {A1, A2}, []),
        (None, set(), [Code.CUSTOMS_DECLARATION_NOT_FOUND]),
        (OTHER_IIN, {A1, A2}, [Code.CUSTOMS_DECLARANT_MISMATCH]),
        (IIN, {A1}, [Code.CUSTOMS_IMEI_NOT_DECLARED]),
    ],
)
def test_customs_proof(declarant: str | None, declared: set[str], expected: list[Code]) -> None:
    failures = check_customs_proof(
        applicant_iin=IIN,
        imeis=[A1, A2],
        declaration_number="D1",
        declarant_iin=declarant,
        declared_imeis=frozenset(declared),
    )
    assert codes(failures) == expected


ENTRY = date(2025, 8, 25)


@pytest.mark.parametrize(
    ("entry", "entered", "seen", "expected"),
    [
        (ENTRY, True, {}, []),
        (ENTRY, True, {A1: ENTRY}, []),  # first used on the day of entry: fine
        (None, False, {}, [Code.BORDER_DATE_MISSING]),
        (date(2025, 9, 2), False, {}, [Code.BORDER_DATE_IN_FUTURE]),
        (ENTRY, False, {}, [Code.BORDER_ENTRY_NOT_FOUND]),
        (ENTRY, True, {A1: date(2025, 8, 24)}, [Code.BORDER_DEVICE_SEEN_BEFORE_ENTRY]),
    ],
)
def test_border_proof(
    entry: date | None, entered: bool, seen: dict[str, date], expected: list[Code]
) -> None:
    failures = check_border_proof(
        entry_date=entry,
        today=date(2025, 9, 1),
        entered_that_day=entered,
        imeis=[A1],
        first_seen_dates=seen,
    )
    assert codes(failures) == expected


@pytest.mark.parametrize(
    ("found", "recipient", "delivered", "description", "expected"),
    [
        (True, IIN, date(2025, 8, 1), "Смартфон Xiaomi", []),
        (True, IIN, date(2025, 8, 1), "Ұялы телефон", []),
        (False, None, None, "", [Code.PARCEL_NOT_FOUND]),
        (True, OTHER_IIN, date(2025, 8, 1), "phone", [Code.PARCEL_RECIPIENT_MISMATCH]),
        (True, IIN, None, "phone", [Code.PARCEL_NOT_DELIVERED]),
        (True, IIN, date(2025, 8, 1), "Книги", [Code.PARCEL_NOT_A_PHONE]),
    ],
)
def test_parcel_proof(
    found: bool,
    recipient: str | None,
    delivered: date | None,
    description: str,
    expected: list[Code],
) -> None:
    failures = check_parcel_proof(
        applicant_iin=IIN,
        tracking_number="T1",
        found=found,
        recipient_iin=recipient,
        delivered_on=delivered,
        description=description,
    )
    assert codes(failures) == expected


@pytest.mark.parametrize(
    "text", ["SMARTPHONE Apple", "мобильный телефон", "ұялы телефон", "iPhone 15 Pro"]
)
def test_phone_words_in_three_languages(text: str) -> None:
    assert describes_a_phone(text)


@pytest.mark.parametrize(
    ("kind", "reference", "expected"),
    [
        ("customs", "D1", []),
        ("border", None, []),
        (None, None, [Code.PROOF_MISSING]),
        ("passport", "X", [Code.PROOF_MISSING]),
        ("parcel", " ", [Code.PROOF_REFERENCE_MISSING]),
    ],
)
def test_a_proof_must_be_given(
    kind: str | None, reference: str | None, expected: list[Code]
) -> None:
    assert codes(check_proof_given(kind, reference)) == expected


def test_the_iin_rule_is_an_application_reason() -> None:
    assert codes(check_iin("900101300018")) == [Code.IIN_INVALID_CHECK_DIGIT]
    assert check_iin(IIN) == []


@pytest.mark.parametrize(
    ("new", "device", "owner", "members", "slots", "expected"),
    [
        ("grey", "white", True, [A1], 2, []),
        ("white", "white", True, [A1], 2, [Code.PAIRING_IMEI_NOT_GREY]),
        ("grey", "grey", True, [A1], 2, [Code.PAIRING_DEVICE_NOT_WHITE]),
        ("grey", "white", False, [A1], 2, [Code.PAIRING_NOT_OWNER]),
        ("grey", "white", True, [B1], 2, [Code.PAIRING_TAC_MISMATCH]),
        ("grey", "white", True, [A1, A3], 2, [Code.PAIRING_SLOTS_EXCEEDED]),
    ],
)
def test_second_imei_pairing(
    new: str, device: str, owner: bool, members: list[str], slots: int, expected: list[Code]
) -> None:
    failures = check_pairing(
        new_imei=A2,
        new_state=ImeiState(new),
        device_imei=members[0],
        device_state=ImeiState(device),
        verified_by_applicant=owner,
        device_imeis=members,
        sim_slots=slots,
    )
    assert codes(failures) == expected
