"""Bursts of pipelined MICRs answered at once (numpy) answer and record exactly as one by one.

Two connections get the same stream: one whose handler has the status source's burst
lookup (`RealtimeChecks.equipment_codes`), one without. Each has its own real index and
check recorder. The answers must be the same bytes and the recorders must hold the same
sightings, whatever the stream: known, unknown, expired-grey and malformed IMEIs of 14, 15
and 16 characters, non-ASCII values, messages of another shape in between, any split into
TCP reads.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.interfaces.diameter.test_s13_layout import TEMPLATES
from tizim.clock import FixedClock
from tizim.domain.rules import Rules
from tizim.interfaces.diameter import burst
from tizim.interfaces.diameter.handler import Connection, Handler, resolve_all
from tizim.interfaces.diameter.messages import Answers
from tizim.interfaces.diameter.requests import scan_micr
from tizim.services.check_recorder import CheckRecorder
from tizim.services.realtime_checks import OperatorDirectory, RealtimeChecks
from tizim.services.status_index import StatusIndex, _probe_codes

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 3, 10, 12, tzinfo=ALMATY)
RULES = Rules()


def imei_pool(length: int) -> list[str]:
    """Values for an IMEI AVP of `length`: digits (most in the index), and a few non-digits."""
    rng = random.Random(length)
    digits = ["".join(rng.choice("0123456789") for _ in range(length)) for _ in range(24)]
    odd = ["3" * (length - 1) + ":", "*" * length, "0" * length, "9" * (length - 2) + "é"]
    return digits + [value for value in odd if len(value.encode()) == length]


def fifteen(value: str) -> str | None:
    """The 15-digit IMEI the index would hold for a digit value (as read_imei makes it)."""
    from tizim.domain.imei import check_digit

    if not value.isdigit():
        return None
    return value if len(value) == 15 else value[:14] + check_digit(value[:14])


def make_checks(pools: list[list[str]]) -> tuple[RealtimeChecks, CheckRecorder]:
    """A real index holding 3 of every 4 pool IMEIs: white, black, grey, expired grey."""
    clock = FixedClock(NOW)
    index = StatusIndex(RULES, clock)
    for pool in pools:
        for n, value in enumerate(pool):
            imei = fifteen(value)
            if imei is None or n % 4 == 3:
                continue
            kind = n % 3 if n % 8 else 3
            if kind == 2:  # grey, deadline in the future
                index.set(imei, "grey", RULES.local_midnight(NOW.date() + timedelta(days=5)))
            elif kind == 3:  # grey, deadline passed: answered black
                index.set(imei, "grey", RULES.local_midnight(NOW.date() - timedelta(days=1)))
            else:
                index.set(imei, ("white", "black")[kind], None)
    recorder = CheckRecorder(None, RULES, clock)  # type: ignore[arg-type]  # never flushed
    directory = OperatorDirectory({"operator.kz": "KCELL"}, {"40177": "TELE2"})
    return RealtimeChecks(index, recorder, directory), recorder


POOLS = {n: imei_pool(n) for n in (14, 15, 16)}


def build_stream(template: bytes, picks: list[tuple[int, int, int, int]]) -> list[bytes]:
    """Messages of `template`'s layout with the IMEI, Session-Id, User-Name bytes and ids
    changed per pick; pick kind 3 changes a byte outside the values (another shape)."""
    _, spans = scan_micr(template)
    pool = POOLS.get(spans.imei[1] - spans.imei[0], [])
    messages = []
    for n, (imei_pick, value_byte, where, kind) in enumerate(picks):
        msg = bytearray(template)
        msg[12:20] = (n * 7919).to_bytes(4, "big") + n.to_bytes(4, "big")
        if pool:
            value = pool[imei_pick % len(pool)].encode()
            msg[spans.imei[0] : spans.imei[1]] = value
        if kind == 1 and spans.session != (0, 0):  # a Session-Id byte: maybe not ASCII
            start, stop = spans.session
            msg[start + where % (stop - start)] = value_byte
        elif kind == 2 and spans.imsi != (0, 0):  # a User-Name byte: digits, letters, NUL, high
            start, stop = spans.imsi
            msg[start + where % (stop - start)] = value_byte
        elif kind == 3:
            msg[where % len(msg)] ^= 0x10
        messages.append(bytes(msg))
    return messages


def run(stream: bytes, cuts: list[int], burst: bool) -> tuple[bytes, dict, int]:
    checks, recorder = make_checks(list(POOLS.values()))
    bursts = []

    def codes(*args):  # type: ignore[no-untyped-def]
        bursts.append(len(args[0]))
        return checks.equipment_codes(*args)

    handler = Handler(checks.equipment_status, Answers("eir", "kz"), codes=codes if burst else None)
    connection = Connection(handler, "127.0.0.1")
    answers: list[bytes] = []
    previous = 0
    for cut in [*sorted(cut % (len(stream) + 1) for cut in cuts), len(stream)]:
        out, close = connection.receive(stream[previous:cut])
        answers.extend(out)
        previous = cut
        if close:
            break
    recorder._drain()
    return b"".join(answers), recorder._pending, sum(bursts)


pick = st.tuples(
    st.integers(0, 40),
    st.sampled_from(b"0123456789az;\x00\x7f\x80\xc3\xff"),
    st.integers(0, 10_000),
    st.sampled_from([0, 0, 0, 0, 1, 2, 3]),
)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(TEMPLATES) - 1), st.lists(pick, min_size=1, max_size=40)),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.integers(0, 100_000), max_size=5),
)
def test_bursts_answer_and_record_as_one_by_one(
    runs: list[tuple[int, list[tuple[int, int, int, int]]]], cuts: list[int]
) -> None:
    stream = b"".join(
        m for template, picks in runs for m in build_stream(TEMPLATES[template], picks)
    )
    one_by_one = run(stream, cuts, burst=False)
    at_once = run(stream, cuts, burst=True)
    assert at_once[0] == one_by_one[0]
    assert at_once[1] == one_by_one[1]
    assert one_by_one[2] == 0
    event(f"looked up in bursts: {'some' if at_once[2] else 'none'}")


def test_a_burst_of_known_imeis_is_looked_up_at_once() -> None:
    template = TEMPLATES[0]  # 14-digit IMEI and a Software-Version, as MMEs send
    picks = [(n % 3, 0, 0, 0) for n in range(40)]  # pool entries 0-2: in the index
    stream = b"".join(build_stream(template, picks))
    answers, recorded, looked_up_at_once = run(stream, [], burst=True)
    assert looked_up_at_once == 39  # the first one taught the layout, one by one
    assert (answers, recorded) == run(stream, [], burst=False)[:2]
    assert {imei for imei, _, _ in recorded} == {fifteen(POOLS[14][n]) for n in range(3)}
    assert {operator for _, operator, _ in recorded} == {"KCELL"}


def test_expired_grey_is_answered_black_in_a_burst() -> None:
    template = TEMPLATES[2]
    expired = next(n for n in range(24) if n % 4 != 3 and n % 8 == 0 and POOLS[14][n].isdigit())
    stream = b"".join(build_stream(template, [(expired, 0, 0, 0)] * 8))
    answers, _, looked_up_at_once = run(stream, [], burst=True)
    assert looked_up_at_once == 7
    status_avp_last_byte = answers[len(answers) // 8 - 1]
    assert status_avp_last_byte == 1  # EQUIPMENT_BLACKLISTED


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(TEMPLATES) - 1), st.lists(pick, min_size=1, max_size=24)),
        min_size=2,
        max_size=4,
    )
)
def test_connections_read_together_are_answered_as_each_alone(
    streams: list[tuple[int, list[tuple[int, int, int, int]]]],
) -> None:
    """What the server's Batch does (`resolve_all`): segments of several connections answered
    in one burst per layout, then each connection's answers put back in its order."""
    messages = [b"".join(build_stream(TEMPLATES[t], picks)) for t, picks in streams]
    alone = [run(stream, [], burst=False)[0] for stream in messages]

    checks, recorder = make_checks(list(POOLS.values()))
    handler = Handler(checks.equipment_status, Answers("eir", "kz"), codes=checks.equipment_codes)
    connections = [Connection(handler, "127.0.0.1") for _ in messages]
    reads = [c.receive_deferred(m)[0] for c, m in zip(connections, messages, strict=True)]
    together = [b"".join(answers) for answers in resolve_all(reads)]
    assert together == alone
    recorder._drain()
    merged: dict = {}
    for stream in messages:
        for key, times in run(stream, [], burst=False)[1].items():
            merged.setdefault(key, times)
    assert recorder._pending == merged


def test_warm_up_compiles_the_kernels_for_received_and_gathered_rows() -> None:
    """The server warms the kernels before listening: both kinds of rows a burst is read
    from (a read-only view of received bytes, a new array gathered from several reads)
    must be compiled, or a peer's first burst waits for the compiler."""
    burst.warm_up()
    row_types = {signature[0] for signature in burst._imei_keys.signatures}
    assert {row_type.mutable for row_type in row_types} == {True, False}
    assert {sig[0].mutable for sig in burst._fill_answers.signatures} == {True, False}
    assert _probe_codes.signatures
