"""
The bounded queue between the callers and the shipper thread, with the
counters it keeps exact. One lock guards both; callers only ever hold it
for an append, never across I/O.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from collections import deque
from collections.abc import Callable

from ._accounting import Counters
from ._limits import EVENT_OVERHEAD, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, Item


__all__ = ["ShipQueue"]

_NEVER = sys.maxsize
#: The longest the shipper thread sleeps on an empty queue before looking
#: for losses to report.
REPORT_INTERVAL = 10.0


class ShipQueue:
    """Lines waiting to ship (events *and* bytes bounded) and the counters."""

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.counters = Counters()
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.items: deque[Item] = deque()
        self.held_events = 0
        self.held_bytes = 0
        self.flush_waiters = 0
        self.closing = False
        self.closed = False
        #: Set by close() at its deadline: what is held was counted as lost.
        self.abandoned = False
        self.pid = os.getpid()
        self._wake_events = _NEVER
        self._wake_weight = _NEVER

    def put(self, item: Item, *, privileged: bool) -> bool:
        """
        With the lock held: queue *item* unless full (counted). A
        *privileged* line (a report about losses) may exceed the cap by one:
        it must not become part of the loss it reports.
        """
        c = self.counters
        held = self.held_events
        n = item[2]
        if (held >= self.max_events or self.held_bytes + n > self.max_bytes) and not privileged:
            c.dropped_overflow += 1
            return False
        self.items.append(item)
        held += 1
        self.held_events = held
        self.held_bytes += n
        c.accepted += 1
        if (
            held >= self._wake_events
            or self.held_bytes + EVENT_OVERHEAD * held >= self._wake_weight
        ):
            self._wake_events = self._wake_weight = _NEVER
            self.cond.notify()
        return True

    def wait_for_batch(
        self, send_interval: float, *, pending: bool, report_due: Callable[[], bool]
    ) -> bool:
        """
        With the lock held: wait until a batch is due; False when the thread
        should end. Lines the thread already *pending* holds have waited
        their turn: they go at once (a backlog drains at full batch rate).
        """
        first_seen: float | None = None
        while True:
            if self.abandoned or self.pid != os.getpid():
                return False
            held = self.held_events
            if held == 0:
                if self.closing:
                    return False
                first_seen = None
                self._wake_events, self._wake_weight = 1, _NEVER
                self.cond.wait(REPORT_INTERVAL)
                if self.held_events == 0 and report_due():
                    return True
                continue
            now = time.monotonic()
            if first_seen is None:
                first_seen = now
            if (
                pending
                or self.closing
                or self.flush_waiters
                or held >= MAX_BATCH_EVENTS
                or self.held_bytes + EVENT_OVERHEAD * held >= MAX_BATCH_BYTES
                or now >= first_seen + send_interval
            ):
                self._wake_events = self._wake_weight = _NEVER
                return True
            self._wake_events, self._wake_weight = MAX_BATCH_EVENTS, MAX_BATCH_BYTES
            self.cond.wait(first_seen + send_interval - now)

    def take_all(self) -> deque[Item]:
        """With the lock held: everything queued so far, for the shipper thread."""
        items, self.items = self.items, deque()
        return items

    def requeue(self, batch: list[Item], pending: deque[Item]) -> None:
        """Put what the thread holds back at the head of the queue, in order."""
        with self.cond:
            if self.abandoned:
                return  # close() already counted everything held as lost
            queue = deque(sorted(batch, key=lambda item: item[0]))
            queue.extend(pending)
            queue.extend(self.items)
            self.items = queue

    def finish(
        self, batch: list[Item], *, delivered: int, rejected: int = 0, invalid: int = 0
    ) -> None:
        """*batch* is done: delivered, rejected by CloudWatch or invalid."""
        with self.cond:
            if self.abandoned:
                return  # close() already counted these as lost at exit
            self.held_events -= len(batch)
            self.held_bytes -= sum(n for _ts, _line, n in batch)
            c = self.counters
            c.done += len(batch)
            c.delivered += delivered
            c.dropped_rejected += rejected
            c.dropped_invalid += invalid
            self.cond.notify_all()

    def wait_done(self, target: int, deadline: float) -> None:
        """With the lock held: wait until *target* lines are done, or the deadline."""
        self.flush_waiters += 1
        self.cond.notify_all()
        try:
            while self.counters.done < target and not self.abandoned:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
        finally:
            self.flush_waiters -= 1

    def abandon(self) -> None:
        """With the lock held, at close's deadline: count what is left as lost."""
        c = self.counters
        lost = c.accepted - c.done
        if lost > 0:
            c.dropped_exit += lost
            c.done += lost
            self.abandoned = True
            self.items.clear()
            self.held_events = self.held_bytes = 0
        self.closed = True
        self.cond.notify_all()
