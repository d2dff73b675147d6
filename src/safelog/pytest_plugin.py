"""
safelog's pytest plugin, registered through the ``pytest11`` entry point: a
thin shell over `safelog.testing`.

Fixtures:

- ``safelog_capture``: a `safelog.testing.SafelogCapture` active for the test
  (annotate with ``safelog.testing.SafelogCapture``). safelog must already be
  configured, e.g. by an autouse fixture of your own.
- ``canary``: a `safelog.testing.CanaryFactory`; ``canary("email")``.
- ``safelog_moto``: a moto server on 127.0.0.1 for the session.
- ``safelog_cloudwatch``: a ``safelog.CloudWatch`` pointed at that server, a
  fresh log group per test; pass it as ``configure(cloudwatch=...)``.

Automatic mode (``--safelog-auto`` or ``safelog_auto = true`` in the pytest
ini options): every test that requests ``canary`` is checked at teardown
for leaks of the canaries it made, even if it never calls
``assert_no_leaks``.

safelog itself is imported only when a fixture runs, so loading the plugin
costs nothing for suites that do not use it.

Tests judge production output: a ``SAFELOG_DEV`` set in the developer's
shell is removed for the session (and for the processes the tests start), so
the console is never the development console unless a test asks for it with
``configure(dev=True)``.
"""

from __future__ import annotations

import os
import sys
import uuid

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest


if TYPE_CHECKING:
    from safelog._embedded import EmbeddedMoto
    from safelog.testing import CanaryFactory, SafelogCapture


__all__ = [
    "canary",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
    "pytest_unconfigure",
    "safelog_capture",
    "safelog_cloudwatch",
    "safelog_moto",
]

_AUTO_HELP = "check every test that uses the 'canary' fixture for leaks at teardown (safelog)"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("safelog", "safelog leak testing")
    group.addoption(
        "--safelog-auto",
        action="store_true",
        default=False,
        dest="safelog_auto",
        help=_AUTO_HELP,
    )
    parser.addini("safelog_auto", _AUTO_HELP, type="bool", default=False)


_SAVED_DEV = pytest.StashKey[str | None]()


def pytest_configure(config: pytest.Config) -> None:
    # Leak checks and assertions judge what production would write; the
    # development console shows more (exception messages, dropped names).
    config.stash[_SAVED_DEV] = os.environ.pop("SAFELOG_DEV", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    saved = config.stash.get(_SAVED_DEV, None)
    if saved is not None:
        os.environ["SAFELOG_DEV"] = saved


# pytest points file descriptors 1 and 2 (and sys.stdout/sys.stderr) at its
# own capture at the start of each test phase and takes them back at its
# end. A capture made by a fixture watches the process streams too, so it
# steps aside around those switches: trylast makes these the innermost
# wrappers, inside pytest's own capture.


def _pause_captures() -> None:
    from safelog.testing import active_captures

    for cap in reversed(active_captures()):
        cap.pause_streams()


def _resume_captures() -> None:
    from safelog.testing import active_captures

    for cap in active_captures():
        cap.resume_streams()


def _safelog_loaded() -> bool:
    # Suites that never use safelog.testing pay nothing.
    return "safelog.testing" in sys.modules


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield
    if _safelog_loaded():
        _pause_captures()


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    if _safelog_loaded():
        _resume_captures()
    yield
    if _safelog_loaded():
        _pause_captures()


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    if _safelog_loaded():
        _resume_captures()
    yield
    if _safelog_loaded():
        _pause_captures()


def _auto_mode(config: pytest.Config) -> bool:
    return bool(config.getoption("safelog_auto")) or bool(config.getini("safelog_auto"))


@pytest.fixture
def safelog_capture() -> Iterator[SafelogCapture]:
    """Every line safelog's configured chain renders during the test."""
    from safelog.testing import capture

    with capture() as cap:
        yield cap


@pytest.fixture
def canary(request: pytest.FixtureRequest) -> Iterator[CanaryFactory]:
    """Makes synthetic customer content: ``canary()``, ``canary("card")``."""
    from safelog.testing import CanaryFactory

    factory = CanaryFactory()
    if not _auto_mode(request.config):
        yield factory
        return
    # Set up the capture first so it is torn down after this check.
    cap: SafelogCapture = request.getfixturevalue("safelog_capture")
    yield factory
    issued = factory.issued
    if issued:
        try:
            cap.assert_no_leaks(*issued)
        except AssertionError as exc:
            pytest.fail(f"[safelog auto mode] {exc}", pytrace=False)


@pytest.fixture(scope="session")
def safelog_moto() -> Iterator[EmbeddedMoto]:
    """A moto server (CloudWatch Logs and friends) on 127.0.0.1 for the session."""
    from safelog._embedded import EmbeddedMoto

    with EmbeddedMoto() as server:
        yield server


@pytest.fixture
def safelog_cloudwatch(safelog_moto: EmbeddedMoto) -> Any:
    """
    A ``safelog.CloudWatch`` sink factory shipping to the session's moto
    server, with a log group of its own; pass it to ``configure``.
    """
    import boto3

    from safelog.cloudwatch import CloudWatch

    client = boto3.client(
        "logs",
        endpoint_url=safelog_moto.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 -- moto's dummy credentials
    )
    return CloudWatch(log_group=f"/safelog-tests/{uuid.uuid4().hex[:12]}", client=client)
