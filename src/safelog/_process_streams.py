"""
A test capture's view of the process's own streams (`safelog.testing`).

While a capture is active, ``sys.stdout``/``sys.stderr`` are replaced by
tees that pass every write on at once and record it, and file descriptors
1 and 2 are redirected through temporary files, so that the leak check also
sees what a service writes around its logger (print, C extensions, child
processes). No pytest here.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile

from typing import IO, Any

from . import _stdio


__all__ = ["ProcessStreams"]

# -- the process's own streams -----------------------------------------------

_STREAM_FDS: tuple[tuple[_stdio.StreamName, int], ...] = (("stdout", 1), ("stderr", 2))


class _Tee(io.TextIOBase):
    """
    Stands in for ``sys.stdout``/``sys.stderr`` during a capture: passes
    every write on at once (pytest's ``capsys``/``capfd`` still see it) and,
    when the stream it passes to does not write to the descriptor itself,
    also records it for the leak check.
    """

    def __init__(self, fd: int, record_fd: int | None, passed_to: Any) -> None:
        super().__init__()
        self._fd = fd
        self._record_fd = record_fd
        self.passed_to = passed_to

    def write(self, s: str) -> int:
        text: object = s
        if not isinstance(text, str):
            msg = f"write() argument must be str, not {type(text).__name__}"
            raise TypeError(msg)
        if self._record_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self._record_fd, s.encode("utf-8", errors="backslashreplace"))
        if self.passed_to is not None:
            self.passed_to.write(s)
        return len(s)

    def flush(self) -> None:
        _flush(self.passed_to)

    def fileno(self) -> int:
        # subprocess(stdout=sys.stdout) and the like write to the descriptor,
        # which the capture watches too.
        return self._fd

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only, as on TextIOWrapper
        return str(getattr(self.passed_to, "encoding", None) or "utf-8")


def _writes_to(stream: object, fd: int) -> bool:
    try:
        return bool(stream.fileno() == fd)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 -- io.UnsupportedOperation, a closed stream
        return False


class _Redirect:
    """
    One of the process's standard streams, watched: file descriptor *fd*
    points at a temporary file (C code, children, ``os.write``), and
    ``sys.<name>`` is a `_Tee` (Python code).
    """

    def __init__(self, name: _stdio.StreamName, fd: int) -> None:
        self.name = name
        self.fd = fd
        self.label = f"process {name} (file descriptor {fd})"
        # O_APPEND: every writer (this process, forked and spawned children,
        # C code) appends, so reading back never moves anyone's offset.
        self.at_fd = tempfile.TemporaryFile(mode="a+b")  # noqa: SIM115 -- closed in close()
        self.from_python = tempfile.TemporaryFile(mode="a+b")  # noqa: SIM115 -- same
        self.saved: int | None = None
        self.previous: Any = None
        self.replayed = 0

    def attach(self) -> None:
        if self.saved is not None:
            return
        current = getattr(sys, self.name)
        _flush(current)
        inner = _stdio.real_stream(current)
        _flush(inner)
        self.saved = os.dup(self.fd)
        os.dup2(self.at_fd.fileno(), self.fd)
        # A stream that writes to the descriptor lands in at_fd already.
        record = None if _writes_to(inner, self.fd) else self.from_python.fileno()
        self.previous = _stdio.swap_real(self.name, _Tee(self.fd, record, inner))

    def detach(self) -> None:
        saved = self.saved
        if saved is None:
            return
        self.saved = None
        _flush(getattr(sys, self.name))
        _stdio.swap_real(self.name, self.previous)
        os.dup2(saved, self.fd)
        os.close(saved)
        # What reached the descriptor goes where it would have gone
        # (pytest's capture, the terminal): the capture looks, never hides.
        data = _read_from(self.at_fd, self.replayed)
        self.replayed += len(data)
        if data:
            with contextlib.suppress(OSError):
                os.write(self.fd, data)

    def read(self) -> str:
        data = _read_from(self.from_python, 0) + _read_from(self.at_fd, 0)
        return data.decode("utf-8", errors="replace")

    def close(self) -> None:
        try:
            self.detach()
        finally:
            self.at_fd.close()
            self.from_python.close()


def _read_from(file: IO[bytes], offset: int) -> bytes:
    fileno = file.fileno()
    size = os.fstat(fileno).st_size
    if size <= offset:
        return b""
    return os.pread(fileno, size - offset, offset)


def _flush(stream: object) -> None:
    flush = getattr(stream, "flush", None)
    if callable(flush):
        with contextlib.suppress(Exception):
            flush()


class ProcessStreams:
    """File descriptors 1 and 2 of this process, watched while a capture is active."""

    def __init__(self) -> None:
        self.redirects: list[_Redirect] = []
        self.failed = False

    def start(self) -> None:
        for name, fd in _STREAM_FDS:
            try:
                redirect = _Redirect(name, fd)
                redirect.attach()
            except (OSError, ValueError):
                # A closed or missing descriptor (a daemon, pythonw): said in
                # problems(), never silently passed.
                self.failed = True
                continue
            self.redirects.append(redirect)

    def pause(self) -> None:
        for redirect in reversed(self.redirects):
            with contextlib.suppress(OSError, ValueError):
                redirect.detach()

    def resume(self) -> None:
        for redirect in self.redirects:
            try:
                redirect.attach()
            except (OSError, ValueError):
                self.failed = True

    def entries(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for redirect in self.redirects:
            out.extend((redirect.label, line) for line in redirect.read().splitlines() if line)
        return out

    def stop(self) -> None:
        for redirect in reversed(self.redirects):
            with contextlib.suppress(OSError, ValueError):
                redirect.close()
        self.redirects.clear()
