"""The optional CloudWatch data protection policy document."""

from __future__ import annotations

import json

from safelog.audit import data_protection_policy
from safelog.policy import FieldPolicy


class TestDataProtectionPolicy:
    def test_document_shape(self) -> None:
        """The generated document audits and masks the same managed identifiers."""
        doc = data_protection_policy(FieldPolicy(), group="/g")
        audit, mask = doc["Statement"]
        assert doc["Version"] == "2021-06-01"
        assert audit["DataIdentifier"] == mask["DataIdentifier"]
        assert "Audit" in audit["Operation"]
        assert mask["Operation"] == {"Deidentify": {"MaskConfig": {}}}

    def test_holds_no_field_name_or_value(self) -> None:
        """The document is fixed text plus the policy's digest: no field name leaks into it."""
        import safelog

        policy = FieldPolicy({"customer_secret_field": safelog.Int()})
        doc = json.dumps(data_protection_policy(policy, group="/g", findings_log_group="/audit"))
        assert "customer_secret_field" not in doc
        assert '"LogGroup": "/audit"' in doc
