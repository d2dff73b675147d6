"""Event names of a (pretend) service, as module-level constants: imported by test_names."""

from __future__ import annotations

import types


PAGE_EXPORTED = "page_exported_from_events_module"
EXPORT_RETRIED = "export_retried_from_events_module"

#: Assigned at runtime from "data" by a test: never a literal of this file.
LAST_TITLE: str = ""

#: A sub-namespace, as ``app.events.billing`` would be.
billing = types.ModuleType("app_events_billing")
