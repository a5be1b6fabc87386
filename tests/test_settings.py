"""templar.settings: the settings an engine runs with, from its directory or from code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from templar.errors import ConfigurationError
from templar.settings import EngineSettings, settings_for
from tests.conftest import WriteFile


def test_without_settings_the_directorys_engine_config_is_read(
    write: WriteFile, config_dir: Path
) -> None:
    assert settings_for(config_dir, None) == (EngineSettings(), None)
    path = write("templar.yaml", "merge: replace\n")
    settings, read_from = settings_for(config_dir, None)
    assert (settings.merge, read_from) == ("replace", path)


@pytest.mark.parametrize(
    ("given", "expected_merge", "expected_error"),
    [
        (EngineSettings(merge="replace"), "replace", None),
        ({"merge": "replace"}, "replace", None),
        ({}, "deep", None),
        ({"merge": "sideways"}, None, "merge"),
        ({"mreg": "deep"}, None, "mreg"),
    ],
)
def test_settings_given_in_code_win_over_the_file_and_are_validated(
    write: WriteFile,
    config_dir: Path,
    given: Any,
    expected_merge: str | None,
    expected_error: str | None,
) -> None:
    write("templar.yaml", "merge: deep\nbogus: [\n")  # never read when settings are given
    if expected_error is not None:
        with pytest.raises(ConfigurationError, match=expected_error):
            settings_for(config_dir, given)
        return
    settings, read_from = settings_for(config_dir, given)
    assert (settings.merge, read_from) == (expected_merge, None)
    if isinstance(given, EngineSettings):
        assert settings is given
