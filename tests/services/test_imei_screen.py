"""The numpy screen passes exactly the IMEIs the domain rule finds authentic."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tizim.domain.imei import (
    DEFAULT_RESERVED_TAC_PREFIXES,
    authenticity_reason,
    check_digit,
    read_imei,
)
from tizim.services.imei_screen import ImeiScreen

KNOWN_TACS = frozenset({"35693803", "49015420", "35824005", "00000001"})


def domain_says_authentic(imei: str, known: frozenset[str] | None) -> bool:
    reading = read_imei(imei, DEFAULT_RESERVED_TAC_PREFIXES)
    tac_known = None if known is None else imei[:8] in known
    return authenticity_reason(reading, tac_known) is None


bodies = st.one_of(
    st.text("0123456789", min_size=14, max_size=14),
    st.sampled_from(sorted(KNOWN_TACS)).flatmap(
        lambda tac: st.text("0123456789", min_size=6, max_size=6).map(lambda s: tac + s)
    ),
    st.sampled_from(DEFAULT_RESERVED_TAC_PREFIXES).flatmap(
        lambda p: st.text("0123456789", min_size=14 - len(p), max_size=14 - len(p)).map(
            lambda s: p + s
        )
    ),
    st.sampled_from("0123456789").map(lambda d: d * 14),
)
imeis = st.tuples(bodies, st.booleans(), st.sampled_from("0123456789")).map(
    lambda t: t[0] + (check_digit(t[0]) if t[1] else t[2])
)


@settings(max_examples=400)
@given(st.lists(imeis, min_size=1, max_size=40), st.booleans())
def test_the_screen_agrees_with_the_domain_rule(batch: list[str], tac_db: bool) -> None:
    known = KNOWN_TACS if tac_db else None
    screen = ImeiScreen(DEFAULT_RESERVED_TAC_PREFIXES, known)
    verdicts = screen.passes("".join(batch).encode()).tolist()
    assert verdicts == [domain_says_authentic(imei, known) for imei in batch]


@given(st.lists(st.lists(imeis, max_size=20), min_size=1, max_size=5))
def test_failures_are_listed_in_order_across_batches(batches: list[list[str]]) -> None:
    screen = ImeiScreen(DEFAULT_RESERVED_TAC_PREFIXES, None)
    packed = ["".join(batch).encode() for batch in batches]
    expected = [
        imei for batch in batches for imei in batch if not domain_says_authentic(imei, None)
    ]
    assert list(screen.failures(packed)) == expected
