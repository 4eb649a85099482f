"""The index remembers rule-judged answers, but never past a change that would alter them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tizim.clock import FixedClock
from tizim.domain.imei import check_digit
from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services import status_index
from tizim.services.status_index import StatusIndex

RULES = Rules()
UNSEEN = "35693803564381" + check_digit("35693803564381")
BAD_CHECK_DIGIT = UNSEEN[:14] + str((int(UNSEEN[14]) + 1) % 10)


def fresh() -> StatusIndex:
    return StatusIndex(RULES, FixedClock(datetime(2026, 1, 20, tzinfo=UTC)))


def test_a_remembered_answer_is_the_judged_one() -> None:
    index = fresh()
    first = index.check(UNSEEN)
    assert first.never_seen
    assert index.check(UNSEEN) is first  # remembered, not judged again
    assert index.check(BAD_CHECK_DIGIT).reason is Reason.INVALID_CHECK_DIGIT
    assert index.check("garbage").reason is Reason.INVALID_FORMAT


def test_an_imei_added_to_the_index_is_answered_from_it() -> None:
    index = fresh()
    assert index.check(UNSEEN).list is ListName.UNKNOWN
    assert index.check(UNSEEN[:14]).list is ListName.UNKNOWN  # the 14-digit form too
    index.set(UNSEEN, "grey", None)
    assert index.check(UNSEEN).list is ListName.GREY
    assert index.check(UNSEEN[:14]).list is ListName.GREY
    assert index.equipment_status(UNSEEN) == "grey"


def test_a_new_tac_database_judges_again() -> None:
    index = fresh()
    assert index.check(UNSEEN).never_seen
    index.set_tacs({"11111111"})
    assert index.check(UNSEEN).reason is Reason.UNKNOWN_TAC
    index.tacs = frozenset({UNSEEN[:8]})  # even when assigned directly
    assert index.check(UNSEEN).never_seen


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    index = fresh()
    monkeypatch.setattr(status_index, "MAX_JUDGED", 3)
    for n in range(10):
        index.check(f"garbage {n}")
    assert len(index._judged) <= 3


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 -x", max_size=17), min_size=1, max_size=5))
def test_remembering_never_changes_an_answer(inputs: list[str]) -> None:
    index = fresh()
    for raw in inputs + inputs:  # each input twice: judged, then remembered
        expected = fresh().check(raw)
        assert index.check(raw) == expected
