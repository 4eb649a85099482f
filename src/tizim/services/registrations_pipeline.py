"""Check a large file in a second thread while the database merges what is already checked.

A million-device load is two halves of similar size: Python reads and checks the rows, then
PostgreSQL merges them. Run one after the other, each leaves a core idle. Here a thread reads
and checks the file and hands over the staged rows in chunks of whole devices; the caller
copies each chunk into the staging table and merges it. While the connection waits for the
server, psycopg releases the GIL, so the checking of the next chunk overlaps the merge of
the previous one. The checks themselves run in file order in the one thread, exactly as
without the pipeline (duplicates and device_ref adjacency are checked across the whole file).
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

Row = tuple[Any, ...]
_DONE = object()
_IMEI = itemgetter(0)  # rows start with the IMEI; a key sorts them 2-3 times faster
_WAIT = 0.2  # seconds between looks at whether the consumer gave up


class CheckedChunks:
    """The rows that `check(write, device_done)` writes, in sorted chunks, checked in a thread.

    The first chunk has about `first_rows` rows, each next one twice as many, up to
    `most_rows`: the database starts work early, and later chunks are few (each chunk's merge
    has fixed costs, such as looking its IMEIs up in the registry's tables).

    `check` calls `write` per staged row and `device_done` after each device, so a chunk never
    splits a device. After handing a chunk over the thread waits for `resume()`: the consumer
    copies the chunk to the server first, in Python, which a thread checking meanwhile would
    only slow down (one runs at a time under the GIL), then resumes it and waits for the
    merge. An exception in `check` is raised by the iteration, after the chunks before it.
    Leaving the iteration early stops the thread.
    """

    def __init__(
        self,
        check: Callable[[Callable[[Row], None], Callable[[], None]], None],
        first_rows: int,
        most_rows: int,
    ) -> None:
        self._check = check
        self._first_rows, self._most_rows = first_rows, most_rows
        self._handover: queue.Queue[object] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._may_go_on = threading.Event()

    def resume(self) -> None:
        """Let the thread check the next chunk (call once per chunk received)."""
        self._may_go_on.set()

    def __iter__(self) -> Iterator[list[Row]]:
        thread = threading.Thread(target=self._produce, name="registration-check", daemon=True)
        thread.start()
        try:
            with _quick_gil_handover():
                yield from self._received()
        finally:
            self._stop.set()
            thread.join()

    def _received(self) -> Iterator[list[Row]]:
        while True:
            item = self._handover.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def _produce(self) -> None:
        rows: list[Row] = []
        limit = self._first_rows

        def device_done() -> None:
            nonlocal limit
            if len(rows) >= limit:
                self._hand_over(sorted(rows, key=_IMEI))  # a new list: `rows.append` stays
                rows.clear()
                limit = min(2 * limit, self._most_rows)
                self._wait(self._may_go_on)

        try:
            self._check(rows.append, device_done)
            if rows:
                self._hand_over(sorted(rows, key=_IMEI))
            self._hand_over(_DONE)
        except _Stopped:
            return
        except BaseException as error:  # handed to the consumer, which raises it
            try:
                self._hand_over(error)
            except _Stopped:
                return

    def _hand_over(self, item: object) -> None:
        self._may_go_on.clear()
        while not self._stop.is_set():
            try:
                self._handover.put(item, timeout=_WAIT)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _wait(self, event: threading.Event) -> None:
        while not event.wait(_WAIT):
            if self._stop.is_set():
                raise _Stopped


_switching = threading.Lock()
_pipelines_running = 0
_usual_switch_interval = sys.getswitchinterval()
QUICK_SWITCH_INTERVAL = 0.0005  # seconds


@contextmanager
def _quick_gil_handover() -> Iterator[None]:
    """Hand the GIL over every 0.5 ms instead of 5 while a pipeline runs.

    Each time the server answers, the connection's thread needs the GIL back from the
    checking thread, and waits up to the switch interval for it: at 5 ms, a million-device
    load lost about a tenth of its time that way (measured). Process-wide, so counted: the
    usual interval comes back when the last pipeline ends.
    """
    global _pipelines_running
    with _switching:
        _pipelines_running += 1
        sys.setswitchinterval(QUICK_SWITCH_INTERVAL)
    try:
        yield
    finally:
        with _switching:
            _pipelines_running -= 1
            if not _pipelines_running:
                sys.setswitchinterval(_usual_switch_interval)


class _Stopped(Exception):
    """The consumer stopped iterating: the producer thread ends quietly."""
