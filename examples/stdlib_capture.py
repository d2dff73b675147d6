"""
stdlib `logging` through safelog: your loggers and every library's.

A library logs at DEBUG with `%`-arguments and `extra=`; another had already
attached its own handler (which would bypass safelog); a logger name is built
at runtime. Run it: `python examples/stdlib_capture.py`.
"""

# safelog: ignore-file -- the calls are deliberately unsafe: this file shows what the chain removes

from __future__ import annotations

import io
import logging
import sys

import safelog


# A library that set up its own handler at import, before the service
# configured logging: without safelog it would print the raw message.
noisy = logging.getLogger("vendor.http")
noisy.addHandler(logging.StreamHandler(sys.stdout))


def main() -> int:
    # Planted customer content: none of it may reach the logs.
    url = "https://api.example.com/search?q=zoe%40example.com"
    body = '{"comment": "please delete my account, Zoë"}'

    sink = io.StringIO()
    safelog.configure(
        service="stdlib-demo",
        level="DEBUG",  # as during an incident: still no content
        console=sink,
        # The vendor's handler is taken over (the default; one record says
        # so); foreign_handlers="error" would refuse to start instead.
    )

    http = logging.getLogger("vendor.http")
    http.debug("GET %s", url)  # template kept, argument dropped
    http.info("response body: %s", body, extra={"body": body})  # args and extras dropped
    http.warning(f"retrying {url}")  # built at runtime: <non-constant-event>
    logging.getLogger(f"tenant.{body[:8]}").error("quota exceeded")  # runtime logger name
    try:
        int(body)
    except ValueError:
        logging.getLogger(__name__).exception("parse_failed")  # type only, no message

    problems = safelog.self_check()
    safelog.shutdown()  # the vendor's handler is attached again

    lines = sink.getvalue().splitlines()
    for line in lines:
        print(line)
    leaked = [p for p in (url, body, "zoe", "delete my account") if any(p in x for x in lines)]
    print(f"records: {len(lines)}, self-check problems: {len(problems)}")
    print("planted customer content in the logs:", "FOUND" if leaked else "none")
    return 1 if leaked or problems else 0


if __name__ == "__main__":
    sys.exit(main())
