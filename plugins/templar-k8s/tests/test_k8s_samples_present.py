"""The samples the tests read are inside the plugin, each listed with its source."""

from __future__ import annotations

import re
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "samples"


def test_every_sample_file_has_a_source_row_and_every_row_a_file() -> None:
    for group in ("orb", "realworld"):
        sources = SAMPLES / group / "SOURCES.md"
        listed = set(
            re.findall(r"^\| `?([\w./-]+\.json)`? \|", sources.read_text(), flags=re.MULTILINE)
        )
        present = {
            str(path.relative_to(SAMPLES / group)) for path in (SAMPLES / group).rglob("*.json")
        }
        assert listed, f"{sources} lists no file"
        assert listed == present, (
            f"{sources}: listed but absent {listed - present}, unlisted {present - listed}"
        )
