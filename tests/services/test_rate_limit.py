"""Rate limits, in process and in a real Redis: same behaviour, windows follow the clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from tizim.services.rate_limit import RateLimiter, make_rate_limiter

REDIS_URL = "redis://127.0.0.1:6379/0"
START = datetime(2025, 11, 20, 10, 0, 0, tzinfo=UTC)


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["in-process", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which limiter: every behaviour test runs on both."""
    if request.param == "redis" and not _redis_available():
        pytest.skip(f"Redis at {REDIS_URL} cannot be reached")
    return str(request.param)


def _limiter(kind: str, limit: int = 3, window: int = 60) -> RateLimiter:
    return make_rate_limiter(
        REDIS_URL if kind == "redis" else None, limit=limit, window_seconds=window
    )


def test_a_client_is_refused_after_the_limit_until_the_window_ends(kind: str) -> None:
    limiter = _limiter(kind)
    client = f"client-{uuid.uuid4().hex}"
    answers = [limiter.hit("check", client, now=START + timedelta(seconds=i)) for i in range(4)]
    assert [answer.allowed for answer in answers] == [True, True, True, False]
    assert [answer.remaining for answer in answers] == [2, 1, 0, 0]
    assert answers[3].retry_after_seconds == 57
    assert limiter.hit("check", client, now=START + timedelta(seconds=60)).allowed


def test_clients_and_scopes_are_counted_apart(kind: str) -> None:
    limiter = _limiter(kind, limit=1)
    first, second = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    assert limiter.hit("check", first, now=START).allowed
    assert not limiter.hit("check", first, now=START).allowed
    assert limiter.hit("check", second, now=START).allowed
    assert limiter.hit("support", first, now=START).allowed


def test_redis_shares_the_count_between_limiters() -> None:
    """Two server processes (two limiter objects) draw from one allowance."""
    if not _redis_available():
        pytest.skip(f"Redis at {REDIS_URL} cannot be reached")
    client = f"shared-{uuid.uuid4().hex}"
    one, two = _limiter("redis", limit=2), _limiter("redis", limit=2)
    assert one.hit("check", client, now=START).allowed
    assert two.hit("check", client, now=START).allowed
    assert not one.hit("check", client, now=START).allowed
