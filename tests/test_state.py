"""`_state`: the one owner of the current configuration."""

from __future__ import annotations

import io
import logging
import sys
import threading

from collections.abc import Iterator

import pytest

import safelog

from safelog import _state


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


class TestProxies:
    @pytest.mark.usefixtures("tiny_switch_interval")
    def test_get_logger_races_reconfigure(self) -> None:
        """Many threads making loggers while another reconfigures never raise."""
        errors: list[str] = []
        stop = threading.Event()

        def make_loggers() -> None:
            # Kept alive, so that reconfiguring has many loggers to go through.
            alive: list[object] = []
            try:
                while not stop.is_set():
                    for _ in range(50):
                        log = safelog.get_logger("race").bind(n=1)
                        log.info  # noqa: B018 -- resolves it
                        alive.append(log)
                    del alive[:-200]
            except Exception as exc:
                errors.append(type(exc).__name__)

        def reconfigure() -> None:
            try:
                for _ in range(20):
                    safelog.configure(service="svc", console=io.StringIO())
                    safelog.shutdown()
            except Exception as exc:
                errors.append(type(exc).__name__)
            finally:
                stop.set()

        threads = [threading.Thread(target=make_loggers) for _ in range(8)]
        threads.append(threading.Thread(target=reconfigure))
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []

    def test_a_logger_follows_configure_and_shutdown(self) -> None:
        """A logger made before configure() logs through each configuration in turn."""
        log = safelog.get_logger("follow")
        first, second = io.StringIO(), io.StringIO()
        safelog.configure(service="one", console=first)
        log.info("to_first")
        safelog.shutdown()
        safelog.configure(service="two", console=second)
        log.info("to_second")
        assert '"service":"one"' in first.getvalue()
        assert '"service":"two"' in second.getvalue()
        assert "to_second" not in first.getvalue()


class TestOwner:
    def test_install_twice_is_refused(self) -> None:
        """Only one configuration is current at a time."""
        safelog.configure(service="svc", console=io.StringIO())
        state = _state.current()
        assert state is not None
        with pytest.raises(RuntimeError):
            _state.install(state)

    def test_retire_returns_the_current_state(self) -> None:
        """retire() hands back what was current and leaves none."""
        safelog.configure(service="svc", console=io.StringIO())
        state = _state.current()
        safelog.shutdown()
        assert _state.current() is None
        assert state is not None
        assert state.chain.active is False

    def test_generation_grows_with_each_configure(self) -> None:
        """Each configure() gets a new generation; none is current after shutdown()."""
        safelog.configure(service="svc", console=io.StringIO())
        first = _state.generation()
        safelog.shutdown()
        assert _state.generation() == 0
        safelog.configure(service="svc", console=io.StringIO())
        assert _state.generation() > first


class FailingSink:
    def __init__(self) -> None:
        self.closed = False

    def write(self, line: str) -> None:
        return None

    def flush(self, timeout: float | None = None) -> None:
        raise OSError

    def close(self, timeout: float | None = None) -> None:
        self.closed = True
        raise OSError


class TestShutdown:
    def test_every_step_runs_even_if_one_fails(self) -> None:
        """A sink that fails to flush, and a failing callback, stop no other step."""
        before = list(logging.getLogger().handlers)
        sink = FailingSink()
        safelog.configure(service="svc", console=io.StringIO(), sinks=[sink])
        state = _state.current()
        assert state is not None

        def boom() -> None:
            raise RuntimeError

        state.on_shutdown.append(boom)
        safelog.shutdown()
        assert not safelog.is_configured()
        assert logging.getLogger().handlers == before
        assert sink.closed
        assert sys.excepthook.__module__ != "safelog._hooks"

    def test_flush_comes_before_restoring(self) -> None:
        """shutdown() flushes while safelog's handler is still on the root logger."""
        seen: list[bool] = []

        class Probe:
            def write(self, line: str) -> None:
                return None

            def flush(self, timeout: float | None = None) -> None:
                handlers = logging.getLogger().handlers
                seen.append(any(type(h).__name__ == "SafelogHandler" for h in handlers))

            def close(self, timeout: float | None = None) -> None:
                return None

        safelog.configure(service="svc", console=io.StringIO(), sinks=[Probe()])
        safelog.shutdown()
        assert seen == [True]
