"""The pytest plugin, run as a user runs it: pytest in a subprocess, through pytester."""

from __future__ import annotations

from pathlib import Path

import pytest


pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "examples" / "service"

CONFTEST = '''
import pytest
import safelog


class AnyString(safelog.Kind):
    """Deliberately unsafe: accepts any string."""

    kind_name = "anystring"
    __slots__ = ()

    def clean(self, value):
        return value if type(value) is str else self.marker


@pytest.fixture(autouse=True)
def _logging():
    safelog.configure(
        service="svc",
        fields={"note": AnyString(), "status": safelog.Enum("ok", "failed"), "n": safelog.Int()},
        console=False,
    )
    yield
    safelog.shutdown()
'''

LEAKY = """
import safelog

log = safelog.get_logger(__name__)


def test_leak(safelog_capture, canary):
    secret = canary("email")
    log.info("noted", note=secret, n=1)
    safelog_capture.assert_logged("noted", n=1)
    safelog_capture.assert_no_leaks(secret)
"""

CLEAN = """
import safelog
from safelog.testing import CanaryFactory, SafelogCapture

log = safelog.get_logger(__name__)


def test_clean(safelog_capture: SafelogCapture, canary: CanaryFactory) -> None:
    secret = canary("card")
    log.info("noted", status=secret, n=2)
    safelog_capture.assert_logged("noted", n=2, status="<rejected:enum>")
    safelog_capture.assert_no_leaks()
"""

FORGOT = """
import safelog

log = safelog.get_logger(__name__)


def test_forgot(canary):
    log.info("noted", note="ref " + canary("token"))


def test_clean_but_unchecked(canary):
    log.info("noted", status=canary("text"))
"""


PRINTS = """
import subprocess
import sys
import traceback


def test_print_exc(safelog_capture, canary):
    secret = canary("email")
    try:
        int(secret)
    except ValueError:
        traceback.print_exc()
    safelog_capture.assert_no_leaks()


def test_child(safelog_capture, canary):
    secret = canary("url")
    subprocess.run([sys.executable, "-c", "raise SystemExit(%r)" % secret], check=False)
    safelog_capture.assert_no_leaks()
"""

PRINTS_AUTO = """
import traceback


def test_never_asserts(canary):
    try:
        int(canary("token"))
    except ValueError:
        traceback.print_exc()
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    return pytester


# The inner sessions load safelog's plugin through its entry point, as a
# user's pytest does; the other plugins installed in this environment for
# safelog's own suite play no part in them and cost about a second of start-up
# each (hypothesis's imports all of hypothesis at the end of a session).
_UNRELATED_PLUGINS = ("hypothesispytest", "xdist", "xdist.looponfail", "cov", "anyio")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    off = [a for name in _UNRELATED_PLUGINS for a in ("-p", f"no:{name}")]
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *off, *args, timeout=180)


class TestPlugin:
    def test_a_leak_is_a_readable_failure(self, project: pytest.Pytester) -> None:
        """The failure names kind, sink, field and call site, and points at the test's line."""
        project.makepyfile(test_leaky=LEAKY)
        result = _run(project)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*safelog.testing: 1 leak(s) of synthetic customer content*",
                "*canary of kind 'email' found, raw*",
                "*sink:      dispatched line (to no sink)*",
                "*field:     $.note*",
                "*call site: test_leaky:test_leak, line 8 (event 'noted', level 'info')*",
            ]
        )
        out = result.stdout.str()
        # The helpers hide their frames: the traceback ends at the user's line.
        assert "safelog_capture.assert_no_leaks(secret)" in out
        assert "testing.py" not in out

    def test_a_clean_test_passes(self, project: pytest.Pytester) -> None:
        """No leak and the expected metadata: the test passes."""
        project.makepyfile(test_clean=CLEAN)
        _run(project).assert_outcomes(passed=1)

    def test_auto_mode_catches_a_forgotten_leak(self, project: pytest.Pytester) -> None:
        """With --safelog-auto a test that never asserts is still checked at teardown."""
        project.makepyfile(test_forgot=FORGOT)
        _run(project).assert_outcomes(passed=2)  # without the mode, nothing checks
        result = _run(project, "--safelog-auto")
        result.assert_outcomes(passed=2, errors=1)
        result.stdout.fnmatch_lines(
            [
                "*ERROR at teardown of test_forgot*",
                "*[[]safelog auto mode] safelog.testing: 1 leak(s)*",
                "*canary of kind 'token' found, raw*",
            ]
        )

    def test_auto_mode_from_the_ini_file(self, project: pytest.Pytester) -> None:
        """The ini option turns the automatic check on too."""
        project.makeini("[pytest]\nsafelog_auto = true\n")
        project.makepyfile(test_forgot=FORGOT)
        _run(project).assert_outcomes(passed=2, errors=1)

    def test_leaks_through_cpython_printing_fail(self, project: pytest.Pytester) -> None:
        """traceback.print_exc() and a child's stderr fail the test, naming the stream."""
        project.makepyfile(test_prints=PRINTS)
        result = _run(project)
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(
            [
                "*_ test_print_exc _*",
                "*canary of kind 'email' found, raw*",
                "*sink:      process stderr (file descriptor 2)*",
                "*_ test_child _*",
                "*canary of kind 'url' found, raw*",
                "*sink:      process stderr (file descriptor 2)*",
            ]
        )

    def test_auto_mode_sees_the_process_streams(self, project: pytest.Pytester) -> None:
        """--safelog-auto fails a test whose canary only reached stderr."""
        project.makepyfile(test_prints_auto=PRINTS_AUTO)
        _run(project).assert_outcomes(passed=1)
        result = _run(project, "--safelog-auto")
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            ["*[[]safelog auto mode] safelog.testing: 1 leak(s)*", "*process stderr*"]
        )

    def test_capture_without_configure_says_what_to_do(self, pytester: pytest.Pytester) -> None:
        """Requesting the capture before configuring safelog is an error with instructions."""
        pytester.makepyfile(test_unconfigured="def test_x(safelog_capture):\n    pass\n")
        result = _run(pytester)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*safelog is not configured*"])

    def test_cloudwatch_leak_is_found_in_the_stored_copy(self, project: pytest.Pytester) -> None:
        """With the moto CloudWatch sink the leak is also reported in what CloudWatch stored."""
        project.makepyfile(
            test_cw="""
import safelog

log = safelog.get_logger(__name__)


def test_cw(safelog_cloudwatch, canary):
    safelog.shutdown()
    from conftest import AnyString
    safelog.configure(service="svc", fields={"note": AnyString()}, console=False,
                      cloudwatch=safelog_cloudwatch)
    from safelog.testing import capture
    with capture() as cap:
        log.info("noted", note=canary("body"))
        cap.assert_no_leaks()
"""
        )
        result = _run(project)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*2 leak(s)*",
                "*sink:      dispatched line (to cloudwatch)*",
                "*sink:      cloudwatch (stored copy, read back)*",
            ]
        )


class TestExampleService:
    def test_the_example_suite_passes(self, pytester: pytest.Pytester) -> None:
        """examples/service's own tests pass, as a user runs them, also in auto mode."""
        for name in ("app.py", "test_app.py", "pyproject.toml"):
            pytester.path.joinpath(name).write_text((SERVICE / name).read_text())
        _run(pytester, "--safelog-auto").assert_outcomes(passed=3)

    def test_the_example_suite_catches_a_leaky_policy(self, pytester: pytest.Pytester) -> None:
        """Declare the title with an any-string kind and the example's own tests fail."""
        app = (SERVICE / "app.py").read_text()
        # The policy also declares the title, with a kind that accepts any string.
        leaky = app.replace(
            "def configure_logging(",
            "class _AnyString(safelog.Kind):\n"
            "    kind_name = 'anystring'\n"
            "    __slots__ = ()\n\n"
            "    def clean(self, value):\n"
            "        return value\n\n\n"
            "def configure_logging(",
        ).replace(
            "safelog.configure(pyproject=POLICY,",
            "from safelog import _pyproject\n"
            "    fields = {**_pyproject.load(POLICY).fields.kinds, 'title': _AnyString()}\n"
            "    safelog.configure(fields=fields, pyproject=POLICY,",
        )
        assert leaky != app
        pytester.path.joinpath("app.py").write_text(leaky)
        for name in ("test_app.py", "pyproject.toml"):
            pytester.path.joinpath(name).write_text((SERVICE / name).read_text())
        result = _run(pytester)
        result.assert_outcomes(passed=2, failed=1)
        result.stdout.fnmatch_lines(["*canary of kind 'text' found*", "*field:     $.title*"])
