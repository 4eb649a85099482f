"""The Kazakh individual identification number (ЖСН / ИИН), read and checked once, here.

python-stdnum (2.x) has no Kazakh module, so the rule is written out. The structure is the
one fixed for the national register of identification numbers (Law of the Republic of
Kazakhstan of 12 January 2007 No. 223-III "On national registers of identification numbers"
and the government rules on forming the IIN):

    positions 1–6   YYMMDD, the date of birth;
    position  7     century and sex: 1/2 = born 1800–1899, 3/4 = 1900–1999, 5/6 = 2000–2099,
                    odd = male, even = female;
    positions 8–11  serial number of the registration;
    position  12    check digit.

Check digit: a = Σ dᵢ·wᵢ mod 11 over the first 11 digits with weights 1, 2, …, 11. When a is
10, the sum is taken again with the second weight set 3, 4, …, 11, 1, 2; if that is 10 too,
no IIN is ever issued with these 11 digits (the number is invalid). Otherwise the check digit
is a.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
CENTURY_OF_DIGIT = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


class IinProblem(StrEnum):
    """Why a string is not a valid IIN, most basic first (each an application refusal code)."""

    FORMAT = "IIN_INVALID_FORMAT"
    CENTURY = "IIN_INVALID_CENTURY"
    BIRTH_DATE = "IIN_INVALID_BIRTH_DATE"
    CHECK_DIGIT = "IIN_INVALID_CHECK_DIGIT"


@dataclass(frozen=True, slots=True)
class Iin:
    value: str
    birth_date: date
    female: bool


def iin_check_digit(first11: str) -> int | None:
    """The check digit of 11 IIN digits, or None when both weight sets give 10 (never issued)."""
    digits = [int(ch) for ch in first11]
    for weights in (FIRST_WEIGHTS, SECOND_WEIGHTS):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def normalise_iin(raw: str) -> str:
    """Spaces and hyphens people type between digit groups are ignored."""
    return "".join(ch for ch in (raw or "") if ch not in " -\t")


def iin_problem(raw: str) -> IinProblem | None:
    """The first rule `raw` breaks, or None for a valid IIN."""
    value = normalise_iin(raw)
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return IinProblem.FORMAT
    century = CENTURY_OF_DIGIT.get(int(value[6]))
    if century is None:
        return IinProblem.CENTURY
    if _birth_date(value, century) is None:
        return IinProblem.BIRTH_DATE
    if iin_check_digit(value[:11]) != int(value[11]):
        return IinProblem.CHECK_DIGIT
    return None


def read_iin(raw: str) -> Iin | None:
    """The IIN with its birth date and sex, or None if invalid (ask `iin_problem` why)."""
    if iin_problem(raw) is not None:
        return None
    value = normalise_iin(raw)
    born = _birth_date(value, CENTURY_OF_DIGIT[int(value[6])])
    assert born is not None  # iin_problem checked it
    return Iin(value=value, birth_date=born, female=int(value[6]) % 2 == 0)


def _birth_date(value: str, century: int) -> date | None:
    try:
        return date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        return None


def mask_iin(value: str) -> str:
    """For logs and public listings: the first two and the last two digits only."""
    return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:] if len(value) > 4 else "****"
