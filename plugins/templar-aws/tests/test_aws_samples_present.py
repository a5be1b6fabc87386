"""The samples the tests read are inside the plugin, each listed with its source."""

from __future__ import annotations

import re
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "samples"
REALWORLD_SAMPLES = SAMPLES / "realworld"


def _listed_files(sources: Path) -> list[str]:
    """The file names in the first column of a SOURCES.md table."""
    rows = re.findall(r"^\| `?([\w./-]+\.json)`? \|", sources.read_text(), flags=re.MULTILINE)
    return rows


def test_every_sample_file_has_a_source_row_and_every_row_a_file() -> None:
    for group in ("orb", "realworld"):
        sources = SAMPLES / group / "SOURCES.md"
        listed = set(_listed_files(sources))
        present = {
            str(path.relative_to(SAMPLES / group))
            for path in (SAMPLES / group).rglob("*.json")
            if path.name not in {"config.json", "orb-list.json"}
        }
        assert listed, f"{sources} lists no file"
        assert listed == present, (
            f"{sources}: listed but absent {listed - present}, unlisted {present - listed}"
        )


def test_orb_list_files_sit_beside_an_orb_config() -> None:
    listings = sorted(REALWORLD_SAMPLES.glob("*/orb-list.json"))
    assert len(listings) >= 25
    for listing in listings:
        assert (listing.parent / "config.json").is_file(), listing.parent
