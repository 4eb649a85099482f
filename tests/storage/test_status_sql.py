"""The SQL form of the list rule agrees with the domain function, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from tizim.config import Settings
from tizim.domain.reasons import Reason, split_reasons
from tizim.domain.status import ImeiFacts, ListName, list_status
from tizim.runtime import Runtime
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import imeis, status_changes

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 6, 1), timezones=st.just(UTC)
)
optional_moments = st.none() | moments
facts_strategy = st.builds(
    ImeiFacts,
    invalid_reason=st.none() | st.sampled_from([Reason.INVALID_CHECK_DIGIT, Reason.UNKNOWN_TAC]),
    first_seen=optional_moments,
    last_seen=optional_moments,
    trusted_source=st.booleans(),
    verified=st.booleans(),
    paired=st.booleans(),
    gsma_blacklisted=st.booleans(),
    reported_stolen=st.booleans(),
    clone_suspected=st.booleans(),
    retired_at=st.none() | st.none() | moments,
)


def _row(number: int, facts: ImeiFacts, since: datetime) -> dict[str, object]:
    return {
        "imei": f"{number:015d}",
        "invalid_reason": facts.invalid_reason.value if facts.invalid_reason else None,
        "first_seen_at": facts.first_seen,
        "last_seen_at": facts.last_seen,
        "trusted_source": facts.trusted_source,
        "verified": facts.verified,
        "paired": facts.paired,
        "gsma_blacklisted": facts.gsma_blacklisted,
        "reported_stolen": facts.reported_stolen,
        "clone_suspected": facts.clone_suspected,
        "retired_at": facts.retired_at,
        "list": ListName.UNKNOWN.value,
        "reasons": Reason.NOT_SEEN.value,
        "list_since": since,
    }


def _assert_sql_agrees(runtime: Runtime, batch: list[ImeiFacts], now: datetime) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(insert(imeis), [_row(i, facts, now) for i, facts in enumerate(batch)])
        refresh_statuses(
            conn, imeis.c.imei.is_not(None), now=now, rules=runtime.rules, source="test"
        )
        stored = {
            row.imei: row
            for row in conn.execute(
                select(imeis.c.imei, imeis.c.list, imeis.c.reasons, imeis.c.grace_deadline)
            )
        }
        conn.execute(delete(imeis))
        conn.execute(delete(status_changes))
    for i, facts in enumerate(batch):
        expected = list_status(facts, now, runtime.rules)
        row = stored[f"{i:015d}"]
        assert (ListName(row.list), split_reasons(row.reasons), row.grace_deadline) == (
            expected.list,
            expected.reasons,
            expected.grace_deadline,
        ), facts


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(facts_strategy, min_size=1, max_size=25), now=moments)
def test_sql_status_equals_domain_status(
    registry: Runtime, batch: list[ImeiFacts], now: datetime
) -> None:
    _assert_sql_agrees(registry, batch, now)


@pytest.mark.parametrize("clone_blocks", [True, False])
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(facts_strategy, min_size=1, max_size=25), now=moments)
def test_sql_status_follows_configured_rules(
    registry: Runtime, clone_blocks: bool, batch: list[ImeiFacts], now: datetime
) -> None:
    other_rules = Runtime(
        Settings(
            database_url=registry.settings.database_url,
            grace_days=11,
            enforcement_start=datetime(2025, 3, 3).date(),
            grandfather_before=datetime(2024, 7, 1).date(),
            clone_blocks=clone_blocks,
        )
    )
    try:
        _assert_sql_agrees(other_rules, batch, now)
    finally:
        other_rules.close()
