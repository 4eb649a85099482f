"""Per-client rate limits: a fixed window counter, in Redis or in this process.

Redis (when `TIZIM_REDIS_URL` is set) shares the count between every server process, so a
client cannot multiply its allowance by the number of workers; without Redis each process
counts alone, which is right for one process and for tests.

Windows are numbered from the injected clock (`now`), never from the wall clock, so the
limit follows `FixedClock` in tests and `--now` in demos like everything else.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import redis


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    remaining: int
    retry_after_seconds: int
    """Seconds until the current window ends (how long a refused client should wait)."""


class RateLimiter(Protocol):
    def hit(self, scope: str, client: str, *, now: datetime) -> RateDecision: ...


@dataclass
class _Window:
    limit: int
    seconds: int

    def index(self, now: datetime) -> int:
        return int(now.timestamp()) // self.seconds

    def retry_after(self, now: datetime) -> int:
        return self.seconds - int(now.timestamp()) % self.seconds

    def decide(self, count: int, now: datetime) -> RateDecision:
        return RateDecision(
            allowed=count <= self.limit,
            remaining=max(0, self.limit - count),
            retry_after_seconds=self.retry_after(now),
        )


class InProcessRateLimiter:
    """Counts in a dict; keeps only the current window of each client, so memory stays small."""

    def __init__(self, *, limit: int, window_seconds: int) -> None:
        self._window = _Window(limit, window_seconds)
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, scope: str, client: str, *, now: datetime) -> RateDecision:
        window = self._window.index(now)
        with self._lock:
            if len(self._counts) > 100_000:  # forget finished windows before growing further
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            seen_window, count = self._counts.get((scope, client), (window, 0))
            count = count + 1 if seen_window == window else 1
            self._counts[(scope, client)] = (window, count)
        return self._window.decide(count, now)


class RedisRateLimiter:
    """INCR + EXPIRE on one key per scope, client and window: atomic across processes."""

    def __init__(self, url: str, *, limit: int, window_seconds: int, prefix: str = "tizim") -> None:
        self._window = _Window(limit, window_seconds)
        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self._prefix = prefix

    def hit(self, scope: str, client: str, *, now: datetime) -> RateDecision:
        key = f"{self._prefix}:rate:{scope}:{client}:{self._window.index(now)}"
        pipeline = self._redis.pipeline()
        pipeline.incr(key)
        pipeline.expire(key, self._window.seconds * 2)
        count, _ = pipeline.execute()
        return self._window.decide(int(count), now)


def make_rate_limiter(redis_url: str | None, *, limit: int, window_seconds: int) -> RateLimiter:
    """Redis when a URL is configured, else in-process."""
    if redis_url:
        return RedisRateLimiter(redis_url, limit=limit, window_seconds=window_seconds)
    return InProcessRateLimiter(limit=limit, window_seconds=window_seconds)
