"""The README's field table names every field the plugin accepts."""

from __future__ import annotations

import re
from pathlib import Path

from templar_aws import HOSTFACTORY, AwsConfiguration

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_configuration_field_has_a_row_in_the_readme_table() -> None:
    text = README.read_text()
    table = text[text.index("### Fields") : text.index("## Rules across fields")]
    documented = set(re.findall(r"`([A-Za-z_0-9]+)`", table))
    missing = [
        name
        for name in AwsConfiguration.model_fields
        if HOSTFACTORY.to_external(name) not in documented
    ]
    assert missing == []


def test_every_rule_code_has_a_row_in_the_rules_table() -> None:
    text = README.read_text()
    table = text[text.index("## Rules across fields") : text.index("## HostFactory output")]
    rules = (Path(__file__).resolve().parents[1] / "src/templar_aws/rules.py").read_text()
    codes = set(re.findall(r'"(aws-[a-z-]+)"', rules))
    assert codes, "no rule code found"
    assert sorted(c for c in codes if f"`{c}`" not in table) == []
