"""Sinks and the dispatcher: lines go everywhere, failures are counted, never raised."""

from __future__ import annotations

import io
import sys

import pytest

from safelog._sinks import ConsoleSink, Dispatcher, Sink


class BrokenStream:
    """A stream whose every operation fails."""

    def write(self, data: str) -> int:
        raise OSError("broken pipe")

    def flush(self) -> None:
        raise OSError("broken pipe")


class ListSink:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.flushed: list[float | None] = []
        self.closed: list[float | None] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def flush(self, timeout: float | None = None) -> None:
        self.flushed.append(timeout)

    def close(self, timeout: float | None = None) -> None:
        self.closed.append(timeout)


class FailingSink(ListSink):
    def write(self, line: str) -> None:
        raise RuntimeError("sink down")

    def flush(self, timeout: float | None = None) -> None:
        raise RuntimeError("sink down")

    def close(self, timeout: float | None = None) -> None:
        raise RuntimeError("sink down")


class TestConsoleSink:
    def test_writes_one_line_per_record(self) -> None:
        """Each line is written with exactly one newline."""
        stream = io.StringIO()
        sink = ConsoleSink(stream)
        sink.write('{"a":1}')
        sink.write('{"b":2}')
        assert stream.getvalue() == '{"a":1}\n{"b":2}\n'
        assert sink.errors == 0

    def test_broken_stream_is_counted_not_raised(self) -> None:
        """A stream that raises is counted in errors; the caller sees nothing."""
        sink = ConsoleSink(BrokenStream())  # type: ignore[arg-type]
        sink.write("{}")
        sink.flush()
        sink.close()
        assert sink.errors == 3

    def test_closed_stream_is_counted_not_raised(self) -> None:
        """Writing to a closed stream is counted."""
        stream = io.StringIO()
        stream.close()
        sink = ConsoleSink(stream)
        sink.write("{}")
        assert sink.errors == 1

    def test_default_stream_is_looked_up_at_each_write(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without a stream, the current sys.stderr is used at each write."""
        sink = ConsoleSink()
        first, second = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stderr", first)
        sink.write("one")
        monkeypatch.setattr(sys, "stderr", second)
        sink.write("two")
        assert first.getvalue() == "one\n"
        assert second.getvalue() == "two\n"

    def test_satisfies_the_sink_protocol(self) -> None:
        """ConsoleSink is a Sink."""
        assert isinstance(ConsoleSink(io.StringIO()), Sink)


class TestDispatcher:
    def test_every_sink_and_listener_gets_every_line(self) -> None:
        """Lines go to all sinks and all listeners, in order."""
        a, b = ListSink(), ListSink()
        heard: list[str] = []
        dispatcher = Dispatcher((a, b))
        dispatcher.add_listener(heard.append)
        dispatcher.emit("1")
        dispatcher.emit("2")
        assert a.lines == b.lines == heard == ["1", "2"]

    def test_removed_listener_hears_nothing_more(self) -> None:
        """remove_listener stops delivery to that listener only."""
        heard: list[str] = []
        other: list[str] = []
        dispatcher = Dispatcher(())
        dispatcher.add_listener(heard.append)
        dispatcher.add_listener(other.append)
        dispatcher.emit("1")
        dispatcher.remove_listener(heard.append)
        dispatcher.emit("2")
        assert heard == ["1"]
        assert other == ["1", "2"]

    def test_a_failing_sink_is_counted_and_others_still_receive(self) -> None:
        """One failing sink or listener does not stop the others and never raises."""
        good = ListSink()
        heard: list[str] = []

        def bad_listener(line: str) -> None:
            raise RuntimeError("listener down")

        dispatcher = Dispatcher((FailingSink(), good))
        dispatcher.add_listener(bad_listener)
        dispatcher.add_listener(heard.append)
        dispatcher.emit("1")
        assert good.lines == ["1"]
        assert heard == ["1"]
        assert dispatcher.errors == 2

    def test_flush_and_close_reach_every_sink_with_the_timeout(self) -> None:
        """flush and close give every sink what is left of one timeout; failures are counted."""
        good = ListSink()
        dispatcher = Dispatcher((FailingSink(), good))
        dispatcher.flush(1.5)
        dispatcher.close(2.5)
        assert len(good.flushed) == 1
        assert 0 < good.flushed[0] <= 1.5
        assert len(good.closed) == 1
        assert 0 < good.closed[0] <= 2.5
        assert dispatcher.errors == 2
