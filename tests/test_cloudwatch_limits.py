"""CloudWatch's limits as pure functions: batches, cuts, rejections, backoff."""

from __future__ import annotations

import json

from collections import deque

import pytest

from cw_validation import check_batch
from safelog.cloudwatch._limits import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    CUT_MARKER,
    EVENT_OVERHEAD,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    RECOVERY_CAP,
    Item,
    backoff_delay,
    count_rejected,
    cut_line,
    take_batch,
    utf8_size,
)
from safelog.processors import render_json_line


def _items(lines: list[str], start: int = 1_700_000_000_000, step: int = 1) -> deque[Item]:
    return deque((start + i * step, x, utf8_size(x)) for i, x in enumerate(lines))


def _batches(pending: deque[Item]) -> list[list[Item]]:
    out = []
    while pending:
        batch: list[Item] = []
        assert take_batch(pending, batch) == []
        out.append(batch)
    return out


def _events(batch: list[Item]) -> list[dict[str, object]]:
    return [{"timestamp": ts, "message": line} for ts, line, _n in batch]


class TestTakeBatch:
    def test_count_limit_binds_small_events_and_batches_are_full(self) -> None:
        """25,000 small lines go out as 10,000 + 10,000 + 5,000, each valid for CloudWatch."""
        batches = _batches(_items([f'{{"event":"small","n":{i}}}' for i in range(25_000)]))
        assert [len(b) for b in batches] == [10_000, 10_000, 5_000]
        assert all(check_batch(_events(b)) == [] for b in batches)

    def test_byte_limit_binds_large_events_and_fills_95_percent(self) -> None:
        """100 KB events (2-byte UTF-8) fill byte-bound batches to at least 95% of 1 MB."""
        big = json.dumps({"event": "big", "pad": "é" * 50_000}, ensure_ascii=False)
        batches = _batches(_items([big] * 30))
        weights = [sum(n + EVENT_OVERHEAD for _t, _l, n in b) for b in batches]
        assert sum(len(b) for b in batches) == 30
        assert max(weights) <= MAX_BATCH_BYTES
        assert min(weights[:-1]) >= 0.95 * MAX_BATCH_BYTES
        assert all(check_batch(_events(b)) == [] for b in batches)

    def test_batches_are_chronological_and_span_under_a_day(self) -> None:
        """Lines stamped backwards over 30 hours go out sorted, in batches spanning under 24 h."""
        pending = _items([f'{{"n":{i}}}' for i in range(60)], step=-1800 * 1000)
        batches = _batches(pending)
        assert len(batches) >= 2
        assert sum(len(b) for b in batches) == 60
        assert all(check_batch(_events(b)) == [] for b in batches)

    def test_same_millisecond_lines_keep_their_order(self) -> None:
        """Sorting is stable: lines of one millisecond stay in the order they were written."""
        pending = deque((5, f"line-{i}", 6) for i in range(100))
        (batch,) = _batches(pending)
        assert [line for _t, line, _n in batch] == [f"line-{i}" for i in range(100)]

    def test_an_item_that_can_never_fit_is_returned_not_blocking(self) -> None:
        """An item over the event limit is taken out and returned; the rest still batches."""
        pending = deque([(1, "x", MAX_BATCH_BYTES), (2, "ok", 2), (3, "ok", 2)])
        batch: list[Item] = []
        invalid = take_batch(pending, batch)
        assert invalid == [(1, "x", MAX_BATCH_BYTES)]
        assert [line for _t, line, _n in batch] == ["ok", "ok"]
        assert not pending

    def test_limits_match_cloudwatch(self) -> None:
        """The constants are CloudWatch's documented PutLogEvents limits."""
        assert (MAX_BATCH_BYTES, MAX_BATCH_EVENTS, EVENT_OVERHEAD) == (1_048_576, 10_000, 26)
        assert MAX_EVENT_BYTES == MAX_BATCH_BYTES - EVENT_OVERHEAD


class TestCutLine:
    def test_oversized_record_is_cut_to_a_valid_marked_record(self) -> None:
        """A record over 1 MB becomes valid JSON under the limit, marked with its size."""
        line = json.dumps(
            {"event": "huge", "level": "info", "error": {"frames": ["x" * 2_000_000]}}
        )
        cut, n = cut_line(line, len(line))
        record = json.loads(cut)
        assert n == len(cut.encode()) <= MAX_EVENT_BYTES
        assert record == {"event": "huge", "level": "info", "dropped": 1, CUT_MARKER: len(line)}

    @pytest.mark.parametrize("tag", ["\u2028", "\U000e0041", "\x7f", "a"])
    def test_cut_sizes_are_those_of_the_rendered_line(self, tag: str) -> None:
        """Characters the renderer escapes (up to 6 bytes) still give a cut under the limit."""
        record = {"event": "e", "a": tag * 100_000, "b": tag * 100_000, "c": "x" * 900_000}
        line = render_json_line(record)
        cut, n = cut_line(line, len(line.encode()))
        assert n == len(cut.encode()) <= MAX_EVENT_BYTES
        assert json.loads(cut)["event"] == "e"

    def test_an_existing_dropped_count_is_added_to(self) -> None:
        """A record that already counted dropped fields keeps counting them."""
        line = render_json_line({"event": "e", "dropped": 2, "blob": "x" * 1_100_000})
        record = json.loads(cut_line(line, len(line))[0])
        assert record["dropped"] == 3

    def test_unparseable_and_empty_lines_become_a_marker(self) -> None:
        """A line that is not a JSON object is replaced by a marker record, never kept."""
        for line in ("not json" * 200_000, ""):
            cut, n = cut_line(line, len(line))
            assert json.loads(cut) == {"event": "<unparseable-record>", CUT_MARKER: len(line)}
            assert n == len(cut)


class TestCountRejected:
    @pytest.mark.parametrize(
        ("info", "expected"),
        [
            (None, 0),
            ({"tooOldLogEventEndIndex": 3}, 4),
            ({"expiredLogEventEndIndex": 1, "tooOldLogEventEndIndex": 0}, 2),
            ({"tooNewLogEventStartIndex": 8}, 2),
            ({"tooOldLogEventEndIndex": 5, "tooNewLogEventStartIndex": 3}, 10),
            ({"tooOldLogEventEndIndex": "3"}, 0),
        ],
    )
    def test_rejected_ranges_are_counted_once(self, info: object, expected: int) -> None:
        """rejectedLogEventsInfo ranges are counted once each, overlaps included."""
        response = {} if info is None else {"rejectedLogEventsInfo": info}
        assert count_rejected(response, 10) == expected


class TestBackoff:
    def test_delays_grow_with_full_jitter_under_the_cap(self) -> None:
        """The upper bound doubles per attempt from 0.1 s and stops at the cap."""
        highest = [backoff_delay(a, BACKOFF_CAP, lambda lo, hi: hi) for a in range(1, 12)]
        assert highest[:3] == [BACKOFF_BASE * 2, BACKOFF_BASE * 4, BACKOFF_BASE * 8]
        assert max(highest) == BACKOFF_CAP
        assert backoff_delay(3, BACKOFF_CAP, lambda lo, hi: lo) == 0

    def test_a_very_long_outage_keeps_the_delay_a_number_under_the_cap(self) -> None:
        """After a million retries the delay is still a float under the cap (no overflow)."""
        for attempt in (1023, 1024, 1100, 10**6):
            assert 0 <= backoff_delay(attempt, 0.001) <= 0.001

    def test_recovery_cap_is_about_a_second(self) -> None:
        """While the endpoint is unreachable a retry comes at most about a second apart."""
        assert RECOVERY_CAP <= 1.0
        assert all(backoff_delay(a, RECOVERY_CAP) <= 1.0 for a in range(50))
