"""Template ids written in look-alike letters (Unicode's confusables, UTS #39): an id
made entirely of letters drawn like ASCII ones warns, and so does an id that looks the
same as another id of the config, with its file, line and a did-you-mean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from templar import TemplateEngine
from templar.lookalikes import ascii_lookalike, skeleton

from .conftest import WriteFile

# Written as escapes, as Unicode's own tables do: these are what the tests are about.
POP_CYRILLIC = "\u0440\u043e\u0440"  # looks like "pop"
SPEED_CYRILLIC = "\u0455\u0440\u0435\u0435\u0501"  # looks like "speed"
AWS_PROD_MIXED = "\u0430ws-\u0440\u0433\u043ed"  # Cyrillic a, p, r, o among Latin letters
WEB_FULLWIDTH = "\uff57\uff45\uff42"  # fullwidth "web"
ABE_GREEK = "\u0391\u0392\u0395-1"  # Greek capitals that look like "ABE-1"


@pytest.mark.parametrize(
    ("written", "reads_as"),
    [
        (POP_CYRILLIC, "pop"),
        (SPEED_CYRILLIC, "speed"),
        (AWS_PROD_MIXED, "aws-prod"),
        (WEB_FULLWIDTH, "web"),
        (ABE_GREEK, "ABE-1"),  # the ASCII 1 stays a 1
    ],
)
def test_the_skeleton_reads_look_alike_letters_as_ascii(written: str, reads_as: str) -> None:
    assert skeleton(written) == reads_as
    assert ascii_lookalike(written) == reads_as


@pytest.mark.parametrize(
    "genuine",
    ["pop", "caf\u00e9", "\u0391\u03b8\u03ae\u03bd\u03b1", "\u0441\u0435\u0440\u0432\u0435\u0440"],
)
def test_ids_that_look_like_no_ascii_id_are_left_alone(genuine: str) -> None:
    # ASCII, a Latin accent, Greek "Athena", Cyrillic "server": real words, not disguises
    assert ascii_lookalike(genuine) is None


def _issues(config_dir: Path) -> list[tuple[str, str | None, int | None, str]]:
    report = TemplateEngine(config_dir, load_entrypoints=False, use_cache=False).validate()
    return [
        (i.code, Path(i.file).name if i.file else None, i.line, i.message)
        for i in report.file_issues
        if i.code in ("confusable-template-id", "lookalike-template-id")
    ]


def test_an_id_entirely_in_look_alike_letters_warns(config_dir: Path, write: WriteFile) -> None:
    write("templates.yaml", f"- template_id: web\n- template_id: {POP_CYRILLIC}\n")
    [(code, file, line, message)] = _issues(config_dir)
    assert (code, file, line) == ("confusable-template-id", "templates.yaml", 2)
    assert "CYRILLIC letters" in message and "'pop'" in message
    engine = TemplateEngine(config_dir, load_entrypoints=False, use_cache=False)
    assert {t.template_id for t in engine.list_templates()} == {"web", POP_CYRILLIC}


def test_an_id_that_looks_like_another_of_the_config_names_it(
    config_dir: Path, write: WriteFile
) -> None:
    write("templates.yaml", "templates:\n  - template_id: speed\n    name: the real one\n")
    write(
        "genericprov_templates.yaml",
        f"# the other file\n{SPEED_CYRILLIC}:\n  name: a disguise\n",
    )
    issues = _issues(config_dir)
    assert ("lookalike-template-id", "genericprov_templates.yaml", 2) in [i[:3] for i in issues]
    message = next(i[3] for i in issues if i[0] == "lookalike-template-id")
    assert "'speed' (templates.yaml)" in message and "did you mean 'speed'?" in message
    # the ASCII id is the one it is taken for: it is not reported
    assert all(i[1] == "genericprov_templates.yaml" for i in issues)


def test_two_disguised_ids_name_each_other(config_dir: Path, write: WriteFile) -> None:
    greek_pop = "\u03c1\u03bf\u03c1"  # Greek rho, omicron, rho
    write("templates.yaml", f"- template_id: {POP_CYRILLIC}\n- template_id: {greek_pop}\n")
    lookalike = [i for i in _issues(config_dir) if i[0] == "lookalike-template-id"]
    assert sorted(line for _, _, line, _ in lookalike) == [1, 2]
    assert all("did you mean" in message for *_, message in lookalike)


def test_ascii_ids_never_warn_even_where_unicode_calls_them_confusable(
    config_dir: Path, write: WriteFile
) -> None:
    # UTS #39 calls "rn" and "m" confusable; ASCII ids are taken as written
    write("templates.yaml", "- template_id: pop\n- template_id: p0p\n- template_id: rn\n")
    write("genericprov_templates.yaml", "- template_id: m\n")
    assert _issues(config_dir) == []


def test_validate_prints_file_line_and_the_did_you_mean(config_dir: Path, write: WriteFile) -> None:
    write("templates.yaml", f"- template_id: pop\n- template_id: {POP_CYRILLIC}\n")
    done = subprocess.run(
        [sys.executable, "-m", "templar", "--config-dir", str(config_dir), "validate"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TEMPLAR_PLUGINS": "", "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    assert done.returncode == 0, done.stderr  # warnings only
    lines = [line for line in done.stdout.splitlines() if "templates.yaml:2:" in line]
    assert any("lookalike-template-id" in line and "did you mean 'pop'?" in line for line in lines)
    assert any("confusable-template-id" in line for line in lines)
