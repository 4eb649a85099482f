"""The in-memory status index on its own: lookups, the clock, growth and the domain fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tizim.clock import FixedClock
from tizim.domain.imei import check_digit
from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.status_index import StatusIndex, deadline_day, pack

RULES = Rules()
WHITE, GREY, BLACK = "490154203237518", "356938035643809", "353879234252633"
DEADLINE = datetime(2026, 2, 8, 19, tzinfo=UTC)  # 2026-02-09 00:00 Asia/Almaty
DAY = timedelta(days=1)


def imei(body14: str) -> str:
    return body14 + check_digit(body14)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 20, tzinfo=UTC))


@pytest.fixture
def index(clock: FixedClock) -> StatusIndex:
    index = StatusIndex(RULES, clock)
    index.set(WHITE, "white", None)
    index.set(GREY, "grey", DEADLINE)
    index.set(BLACK, "black", None)
    return index


def test_known_imeis_answer_their_list(index: StatusIndex) -> None:
    assert [index.equipment_status(i) for i in (WHITE, GREY, BLACK)] == ["white", "grey", "black"]
    assert index.check(GREY) == index.check(GREY[:14]) == index.check(GREY[:14] + "07")
    assert index.check(GREY).grace_deadline == DEADLINE


def test_grey_turns_black_at_the_deadline_before_any_sweep(
    index: StatusIndex, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 2, 8, 18, 59, 59, tzinfo=UTC))
    assert index.equipment_status(GREY) == "grey"
    clock.set(DEADLINE)
    assert index.equipment_status(GREY) == "black"
    assert index.check(GREY).list is ListName.BLACK


def test_unseen_imeis_are_judged_by_the_domain_rules(index: StatusIndex) -> None:
    unseen = imei("35693803564381")
    assert index.check(unseen).never_seen
    assert index.equipment_status(unseen) == "unknown"
    assert index.check("35693803564381" + "1").reason is Reason.INVALID_CHECK_DIGIT
    assert index.check("123456789012345").reason is Reason.RESERVED_IMEI
    assert index.check("not an imei").reason is Reason.INVALID_FORMAT
    assert index.equipment_status("１２３") == "black"  # non-ASCII digits are garbage too


def test_unknown_tac_is_black_once_a_tac_database_is_loaded(index: StatusIndex) -> None:
    unseen = imei("35693803564381")
    index.set_tacs({"49015420"})
    assert index.check(unseen).reason is Reason.UNKNOWN_TAC
    assert index.equipment_status(unseen) == "black"
    assert index.equipment_status(WHITE) == "white"  # known IMEIs keep their stored list


def test_a_change_overwrites_in_place(index: StatusIndex) -> None:
    index.set(WHITE, "black", None)
    assert index.equipment_status(WHITE) == "black"
    assert len(index) == 3


def test_the_table_grows_and_keeps_every_entry(clock: FixedClock) -> None:
    index = StatusIndex(RULES, clock)
    first_size = index.memory_bytes
    imeis = [imei(f"35{n:012d}") for n in range(5_000)]
    for n, one in enumerate(imeis):
        index.set(one, ("white", "black")[n % 2], None)
    assert index.memory_bytes > first_size
    assert len(index) == len(imeis)
    assert all(
        index.equipment_status(one) == ("white", "black")[n % 2] for n, one in enumerate(imeis)
    )


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(min_value=10**13, max_value=10**15 - 1), min_size=1, max_size=300))
def test_bulk_built_index_finds_exactly_its_keys(keys: set[int]) -> None:
    ordered = sorted(keys)
    codes = [n % 3 for n in range(len(ordered))]
    index = StatusIndex.from_arrays(
        np.array(ordered, dtype=np.int64), np.array(codes, dtype=np.int32), RULES
    )
    words = ("white", "black", "grey")
    assert [index.equipment_status(f"{k:015d}") for k in ordered] == [words[c] for c in codes]
    absent = next(k for k in range(10**14, 10**15) if k not in keys)
    assert index.check(f"{absent:015d}").reason is not None


def test_deadline_days_round_up_and_pack_keeps_the_list() -> None:
    day = deadline_day(DEADLINE, RULES)
    assert deadline_day(datetime(2026, 2, 8, 20, tzinfo=UTC), RULES) == day + 1
    assert pack("grey", day) & 3 == 2 and pack("grey", day) >> 2 == day
    assert deadline_day(None, RULES) == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=300, unique=True),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=120),
    st.integers(-3, 3),
)
def test_codes_of_many_keys_are_each_keys_stored_status(
    stored: list[int], asked: list[int], days_to_deadline: int
) -> None:
    """The burst lookup (one numpy probe for all, chains walked one by one) == one at a time.

    A small table (hundreds of keys) makes long probe chains common; some keys are grey with
    a deadline around today, and some asked keys are absent.
    """
    clock = FixedClock(datetime(2026, 1, 20, 12, tzinfo=UTC))
    index = StatusIndex(RULES, clock, expected=len(stored))
    deadline = RULES.local_midnight(RULES.local_date(clock.now())) + days_to_deadline * DAY
    lists = ("white", "black", "grey")
    for n, key in enumerate(stored):
        name = lists[n % 3]
        index.set(f"{350_000_000_000_000 + key:015d}", name, deadline if name == "grey" else None)
    keys = np.array([350_000_000_000_000 + key for key in asked], dtype=np.int64)
    codes, all_found = index.codes(keys)
    words = [index.stored_status(int(key)) for key in keys]
    expected = [-1 if word is None else ("white", "black", "grey").index(word) for word in words]
    assert codes.tolist() == expected
    assert all_found == (None not in words)


def test_check_absent_uses_a_remembered_judgement_or_judges(index: StatusIndex) -> None:
    unseen = imei("35693803564381")
    first = index.check_absent(unseen)
    assert first == index.check(unseen) and first.never_seen
    assert index.check_absent(unseen) is first  # remembered: no second judgement
    assert index.check_absent("not an imei").list is ListName.BLACK
