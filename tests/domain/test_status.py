"""The list rules, spelled out with dates (the rule book as a table)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ImeiFacts, ListName, Status, list_status

ALMATY = ZoneInfo("Asia/Almaty")
RULES = Rules()


def almaty(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY)


def seen(at: datetime, **facts: object) -> ImeiFacts:
    return ImeiFacts(first_seen=at, last_seen=at, **facts)  # type: ignore[arg-type]


def test_almaty_is_utc_plus_5_since_march_2024() -> None:
    assert almaty(2025, 6, 1).utcoffset() == timedelta(hours=5)
    assert almaty(2024, 1, 15).utcoffset() == timedelta(hours=6)
    assert RULES.local_midnight(date(2025, 9, 1)) == datetime(2025, 8, 31, 19, tzinfo=UTC)


FIRST_SEEN = almaty(2025, 9, 10, 23, 30)  # late evening: the local date is what counts
DEADLINE = almaty(2025, 10, 10)  # 10 Sep + 30 days, 00:00 Almaty


@pytest.mark.parametrize(
    ("facts", "now", "expected"),
    [
        # Never seen, nothing known.
        (ImeiFacts(), almaty(2025, 9, 1), Status(ListName.UNKNOWN, (Reason.NOT_SEEN,))),
        # Grace: 30 calendar days from the local date of the first sighting.
        (
            seen(FIRST_SEEN),
            almaty(2025, 9, 10, 23, 31),
            Status(ListName.GREY, (Reason.GRACE_PERIOD,), DEADLINE),
        ),
        (
            seen(FIRST_SEEN),
            almaty(2025, 10, 9, 23, 59),
            Status(ListName.GREY, (Reason.GRACE_PERIOD,), DEADLINE),
        ),
        (
            seen(FIRST_SEEN),
            almaty(2025, 10, 10),
            Status(ListName.BLACK, (Reason.GRACE_EXPIRED,), DEADLINE),
        ),
        # Seen at 00:30 Almaty = 19:30 UTC the day before: the Almaty date counts.
        (
            seen(almaty(2025, 9, 11, 0, 30)),
            almaty(2025, 10, 10, 12),
            Status(ListName.GREY, (Reason.GRACE_PERIOD,), almaty(2025, 10, 11)),
        ),
        # Grandfathering: first seen before 25 May 2025 (Almaty) → white.
        (
            seen(almaty(2025, 5, 24, 23, 59)),
            almaty(2025, 12, 1),
            Status(ListName.WHITE, (Reason.GRANDFATHERED,)),
        ),
        (
            seen(almaty(2025, 5, 25)),
            almaty(2025, 6, 1),
            Status(ListName.GREY, (Reason.GRACE_PERIOD,), almaty(2025, 8, 18)),
        ),
        # Enforcement start: grace that ended before 18 Aug 2025 ends on 18 Aug.
        (
            seen(almaty(2025, 6, 1)),
            almaty(2025, 8, 17, 23, 59),
            Status(ListName.GREY, (Reason.GRACE_PERIOD,), almaty(2025, 8, 18)),
        ),
        (
            seen(almaty(2025, 6, 1)),
            almaty(2025, 8, 18),
            Status(ListName.BLACK, (Reason.GRACE_EXPIRED,), almaty(2025, 8, 18)),
        ),
        # Seen 19 Jul: own deadline 18 Aug exactly; seen 20 Jul: 19 Aug.
        (
            seen(almaty(2025, 7, 20, 9)),
            almaty(2025, 8, 18, 12),
            Status(ListName.GREY, (Reason.GRACE_PERIOD,), almaty(2025, 8, 19)),
        ),
        # Trusted sources and owners make a device white, in grace or after it.
        (
            seen(FIRST_SEEN, trusted_source=True),
            almaty(2025, 12, 1),
            Status(ListName.WHITE, (Reason.TRUSTED_SOURCE,)),
        ),
        (
            seen(FIRST_SEEN, verified=True),
            almaty(2025, 12, 1),
            Status(ListName.WHITE, (Reason.VERIFIED,)),
        ),
        (
            seen(FIRST_SEEN, paired=True),
            almaty(2025, 12, 1),
            Status(ListName.WHITE, (Reason.PAIRED,)),
        ),
        (
            ImeiFacts(trusted_source=True),
            almaty(2025, 12, 1),
            Status(ListName.WHITE, (Reason.TRUSTED_SOURCE,)),
        ),
        # Stolen or GSMA-blacklisted outranks everything white.
        (
            seen(almaty(2025, 1, 5), trusted_source=True, verified=True, reported_stolen=True),
            almaty(2025, 12, 1),
            Status(ListName.BLACK, (Reason.REPORTED_STOLEN,)),
        ),
        (
            seen(almaty(2025, 1, 5), gsma_blacklisted=True),
            almaty(2025, 12, 1),
            Status(ListName.BLACK, (Reason.GSMA_BLACKLISTED,)),
        ),
        (
            ImeiFacts(gsma_blacklisted=True, reported_stolen=True),
            almaty(2025, 12, 1),
            Status(ListName.BLACK, (Reason.GSMA_BLACKLISTED, Reason.REPORTED_STOLEN)),
        ),
        # An invalid IMEI is black whatever else is known.
        (
            seen(
                almaty(2025, 1, 5), trusted_source=True, invalid_reason=Reason.INVALID_CHECK_DIGIT
            ),
            almaty(2025, 12, 1),
            Status(ListName.BLACK, (Reason.INVALID_CHECK_DIGIT,)),
        ),
        (
            ImeiFacts(invalid_reason=Reason.UNKNOWN_TAC),
            almaty(2025, 12, 1),
            Status(ListName.BLACK, (Reason.UNKNOWN_TAC,)),
        ),
        # A suspected clone is told, not blocked (by default).
        (
            seen(FIRST_SEEN, clone_suspected=True),
            almaty(2025, 9, 20),
            Status(ListName.GREY, (Reason.GRACE_PERIOD, Reason.CLONE_SUSPECTED), DEADLINE),
        ),
        # An IMEI replaced in a repair is blocked when it shows up again.
        (
            ImeiFacts(
                first_seen=almaty(2025, 1, 5),
                last_seen=almaty(2025, 9, 1),
                trusted_source=True,
                retired_at=almaty(2025, 9, 2),
            ),
            almaty(2025, 9, 3),
            Status(ListName.UNKNOWN, (Reason.RETIRED_IMEI,)),
        ),
        (
            ImeiFacts(
                first_seen=almaty(2025, 1, 5),
                last_seen=almaty(2025, 9, 3),
                trusted_source=True,
                retired_at=almaty(2025, 9, 2),
            ),
            almaty(2025, 9, 3),
            Status(ListName.BLACK, (Reason.RETIRED_IMEI,)),
        ),
    ],
)
def test_list_status(facts: ImeiFacts, now: datetime, expected: Status) -> None:
    assert list_status(facts, now, RULES) == expected


def test_removing_a_blacklisting_fact_restores_the_list_the_other_facts_give() -> None:
    facts = seen(almaty(2025, 1, 5))
    now = almaty(2025, 12, 1)
    before = list_status(facts, now, RULES)
    blocked = list_status(replace(facts, gsma_blacklisted=True), now, RULES)
    assert (before.list, blocked.list) == (ListName.WHITE, ListName.BLACK)
    assert list_status(replace(facts, gsma_blacklisted=False), now, RULES) == before


def test_every_number_and_date_is_configuration() -> None:
    rules = Rules(
        grace_days=10, grandfather_before=date(2025, 1, 1), enforcement_start=date(2025, 1, 1)
    )
    facts = seen(almaty(2025, 3, 1, 10))
    assert list_status(facts, almaty(2025, 3, 10, 23), rules).list == ListName.GREY
    assert list_status(facts, almaty(2025, 3, 11), rules) == Status(
        ListName.BLACK, (Reason.GRACE_EXPIRED,), almaty(2025, 3, 11)
    )


def test_clones_can_be_made_blocking() -> None:
    rules = Rules(clone_blocks=True)
    facts = seen(almaty(2025, 1, 5), trusted_source=True, clone_suspected=True)
    assert list_status(facts, almaty(2025, 12, 1), rules) == Status(
        ListName.BLACK, (Reason.CLONE_SUSPECTED,)
    )
