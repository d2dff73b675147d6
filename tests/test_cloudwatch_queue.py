"""The bounded queue between callers and the shipper thread, and its exact counters."""

from __future__ import annotations

import time

from collections import deque

from safelog.cloudwatch._queue import ShipQueue


def _put(queue: ShipQueue, n: int, size: int = 10, *, privileged: bool = False) -> int:
    taken = 0
    with queue.lock:
        for i in range(n):
            taken += queue.put((i, "x" * size, size), privileged=privileged)
    return taken


class TestShipQueue:
    def test_the_event_cap_drops_and_counts_the_rest(self) -> None:
        """Past max_events every line is counted as dropped_overflow, none is held."""
        queue = ShipQueue(max_events=100, max_bytes=10**9)
        assert _put(queue, 1000) == 100
        c = queue.counters
        assert (queue.held_events, c.accepted, c.dropped_overflow) == (100, 100, 900)

    def test_the_byte_cap_bounds_memory(self) -> None:
        """The queue never holds more bytes than its cap; the rest is counted."""
        queue = ShipQueue(max_events=10**6, max_bytes=10_000)
        assert _put(queue, 50, size=1000) == 10
        assert queue.held_bytes <= 10_000
        assert queue.counters.dropped_overflow == 40

    def test_a_loss_report_may_exceed_the_cap_by_one(self) -> None:
        """The record reporting an overflow is never itself part of it."""
        queue = ShipQueue(max_events=1, max_bytes=10**9)
        _put(queue, 2)
        assert _put(queue, 1, privileged=True) == 1
        assert queue.held_events == 2

    def test_every_accepted_line_ends_delivered_rejected_invalid_or_lost(self) -> None:
        """finish() and abandon() keep accepted = done, split by outcome."""
        queue = ShipQueue(max_events=100, max_bytes=10**9)
        _put(queue, 10)
        with queue.lock:
            items = list(queue.take_all())
        queue.finish(items[:4], delivered=3, rejected=1)
        queue.finish(items[4:5], delivered=0, invalid=1)
        with queue.lock:
            queue.abandon()
        c = queue.counters
        assert (c.delivered, c.dropped_rejected, c.dropped_invalid, c.dropped_exit) == (3, 1, 1, 5)
        assert c.done == c.accepted == 10
        assert c.delivered + c.dropped() == 10
        assert queue.closed
        assert queue.abandoned
        queue.finish(items[5:], delivered=5)  # a send that returns after close: already counted
        assert c.delivered == 3

    def test_requeue_puts_held_lines_back_first_in_time_order(self) -> None:
        """What the thread held goes back before newer lines, its batch sorted by time."""
        queue = ShipQueue(max_events=100, max_bytes=10**9)
        with queue.lock:
            queue.put((9, "new", 3), privileged=False)
        queue.requeue([(2, "b", 1), (1, "a", 1)], deque([(3, "c", 1)]))
        assert [line for _t, line, _n in queue.items] == ["a", "b", "c", "new"]

    def test_a_backlog_the_thread_holds_goes_at_once(self) -> None:
        """With lines pending from a previous batch, no send_interval wait happens."""
        queue = ShipQueue(max_events=100, max_bytes=10**9)
        _put(queue, 1)
        started = time.monotonic()
        with queue.lock:
            assert queue.wait_for_batch(300.0, pending=True, report_due=lambda: False)
        # 300 s would be a hang: the call returned without waiting it.
        assert time.monotonic() - started < 60
