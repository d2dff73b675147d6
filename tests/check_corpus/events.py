"""Event names as module-level constants, imported by constant_events.py (issue 16.5)."""

import os

PAGE_EXPORTED = "page.exported"
EXPORT_RETRIED = "export." "retried"
FOLDED = "export." + "folded"
FROM_DATA = os.environ.get("EVENT", "x")
REBOUND = "export.rebound"
REBOUND = os.environ.get("EVENT", "y")
