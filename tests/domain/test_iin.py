"""The Kazakh IIN: structure, birth date, century/sex digit and the two-pass mod-11 check digit."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tizim.domain.iin import (
    IinProblem,
    iin_check_digit,
    iin_problem,
    mask_iin,
    read_iin,
)


@pytest.mark.parametrize(
    ("iin", "problem"),
    [
        # 9·1+0+0+1·4+0+1·6+3·7+0+0+0+1·11 = 51 ≡ 7 (mod 11)
        ("900101300017", None),
        ("9001 0130 0017", None),  # spaces people type are ignored
        # first pass: weight 11 ≡ 0, sum ≡ 10; second pass 9·3+1·6+1·8+3·9+8·1+1·2 = 78 ≡ 1
        ("900101300811", None),
        ("900101300810", IinProblem.CHECK_DIGIT),
        # both passes give 10: no IIN is ever issued with these 11 digits
        ("900101300800", IinProblem.CHECK_DIGIT),
        ("900101300018", IinProblem.CHECK_DIGIT),
        ("90010130001", IinProblem.FORMAT),
        ("9001013000177", IinProblem.FORMAT),
        ("90010130001A", IinProblem.FORMAT),
        ("٩٠٠١٠١٣٠٠٠١٧", IinProblem.FORMAT),  # Arabic-Indic digits are not ASCII digits
        ("", IinProblem.FORMAT),
        ("900101700017", IinProblem.CENTURY),
        ("900101000017", IinProblem.CENTURY),
        ("901301300017", IinProblem.BIRTH_DATE),
        ("010229500017", IinProblem.BIRTH_DATE),  # 2001 was not a leap year
    ],
)
def test_iin_rules(iin: str, problem: IinProblem | None) -> None:
    assert iin_problem(iin) == problem
    assert (read_iin(iin) is None) == (problem is not None)


def test_the_seventh_digit_gives_century_and_sex() -> None:
    born_2000s_female = "0002296" + "0001"
    iin = born_2000s_female + str(iin_check_digit(born_2000s_female))
    read = read_iin(iin)
    assert read is not None
    assert read.birth_date == date(2000, 2, 29) and read.female


def test_the_second_weight_set_fallback_is_used_only_when_the_first_gives_ten() -> None:
    assert iin_check_digit("90010130081") == 1
    assert iin_check_digit("90010130080") is None


valid_bodies = st.builds(
    lambda born, sex, serial: f"{born:%y%m%d}{sex}{serial:04d}",
    st.dates(date(1900, 1, 1), date(2099, 12, 31)),
    st.integers(1, 6),
    st.integers(0, 9999),
).filter(lambda body: iin_check_digit(body) is not None)


@given(valid_bodies)
def test_every_number_with_its_check_digit_is_valid(body: str) -> None:
    iin = body + str(iin_check_digit(body))
    assert iin_problem(iin) is None
    read = read_iin(iin)
    assert read is not None and read.value == iin and read.birth_date.strftime("%y%m%d") == body[:6]
    assert read.female == (int(body[6]) % 2 == 0)


@given(valid_bodies, st.integers(1, 9))
def test_any_other_check_digit_is_refused(body: str, shift: int) -> None:
    wrong = (iin_check_digit(body) + shift) % 10  # type: ignore[operator]
    assert iin_problem(body + str(wrong)) is IinProblem.CHECK_DIGIT


@given(st.text(max_size=20))
def test_any_text_gets_an_answer_not_an_exception(text: str) -> None:
    problem = iin_problem(text)
    assert problem is None or isinstance(problem, IinProblem)


def test_masking_keeps_two_digits_each_side() -> None:
    assert mask_iin("900101300017") == "90********17"
    assert "0101300" not in mask_iin("900101300017")
