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
import threading
from collections.abc import Callable, Iterator
from typing import Any

Row = tuple[Any, ...]
_DONE = object()
_HANDOVER_WAIT = 0.2  # seconds between looks at whether the consumer gave up


def checked_chunks(
    check: Callable[[Callable[[Row], None], Callable[[], None]], None],
    first_rows: int,
    most_rows: int,
) -> Iterator[list[Row]]:
    """Yield the rows that `check(write, device_done)` writes, in sorted chunks.

    The first chunk has about `first_rows` rows, each next one twice as many, up to
    `most_rows`: the database starts work early, and later chunks are few (each chunk's merge
    has fixed costs, such as looking its IMEIs up in the registry's tables).

    `check` runs in a thread; it calls `write` per staged row and `device_done` after each
    device, so a chunk never splits a device. An exception in `check` is raised here, after
    the chunks before it were yielded. Stopping the iteration early stops the thread.
    """
    handover: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                handover.put(item, timeout=_HANDOVER_WAIT)
                return
            except queue.Full:
                continue
        raise _Stopped

    def produce() -> None:
        rows: list[Row] = []
        limit = first_rows

        def device_done() -> None:
            nonlocal limit
            if len(rows) >= limit:
                put(sorted(rows))  # a new list: `rows.append` stays bound to this one
                rows.clear()
                limit = min(2 * limit, most_rows)

        try:
            check(rows.append, device_done)
            if rows:
                put(sorted(rows))
            put(_DONE)
        except _Stopped:
            return
        except BaseException as error:  # handed to the consumer, which raises it
            try:
                put(error)
            except _Stopped:
                return

    thread = threading.Thread(target=produce, name="registration-check", daemon=True)
    thread.start()
    try:
        while True:
            item = handover.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


class _Stopped(Exception):
    """The consumer stopped iterating: the producer thread ends quietly."""
