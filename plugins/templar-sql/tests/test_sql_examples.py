"""The many-hosts example of docs/sql-storage.md, run as its readers would run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "many_hosts.py"


def test_the_many_hosts_example_sees_the_write_from_the_other_process(
    postgres_url: str,
) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), postgres_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("host A: 0 templates in SqlStorage('postgresql+psycopg://")
    seen = re.fullmatch(
        r"host A: wrote web-small; host B's watch saw \{'generic': \['web-small'\]\} "
        r"(\d+) ms later",
        lines[1],
    )
    assert seen, result.stdout
