"""The README's tables name every field and rule code of the plugin."""

from __future__ import annotations

import re
from pathlib import Path

from templar_k8s import K8S_PROVIDER
from templar_k8s.configuration import K8sConfiguration

ROOT = Path(__file__).resolve().parents[1]


def test_every_field_and_rule_code_is_in_the_readme() -> None:
    text = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Za-z_0-9-]+)`", text))
    style = K8S_PROVIDER.key_style
    assert style is not None
    missing = [
        name
        for name in K8sConfiguration.model_fields
        if style.to_external(name) not in documented and name not in documented
    ]
    assert missing == []
    plugin = (ROOT / "src/templar_k8s/plugin.py").read_text()
    codes = set(re.findall(r'"(k8s-[a-z-]+)"', plugin))
    assert codes and sorted(codes - documented) == []
