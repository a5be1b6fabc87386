"""The crash-and-fault test of the cache (issue 9, items 1, 2 and 8): tampered rows,
wrong types, foreign files, a FIFO, a device, a full disk, a read-only cache directory
(as an unprivileged user: root ignores modes). Every case gives the output
of an uncached run (or a clear warning) from the real ``templates`` command in a
subprocess, never hangs, never a traceback, and deletes nothing outside the cache."""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import as_unprivileged

TEMPLATES = Path(sys.executable).with_name("templates")
MODE_RAW, MODE_BINARY, MODE_PICKLE = 1, 2, 4


def _run(
    config: Path, cache: Path, *args: str, limit_file_size: int | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TEMPLAR_CACHE_DIR": str(cache), "TEMPLAR_PLUGINS": ""}
    command = [str(TEMPLATES), "--config-dir", str(config), *args]
    if limit_file_size is not None:  # a full disk: writes past this size fail (EFBIG)
        command = [
            sys.executable,
            "-c",
            "import resource, signal, sys, runpy;"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_file_size}, {limit_file_size}));"
            "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
            *command,
        ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "templates.yaml").write_text(
        "".join(f"- template_id: t{i}\n  name: {'x' * 2000}\n" for i in range(40))
    )
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    expected = _run(config, tmp_path / "nocache", "--no-cache", "list", "--format", "json").stdout
    assert len(json.loads(expected)) == 40
    return config, tmp_path / "cache", victim, expected


def _tamper(cache: Path, sql: str, *params: object) -> int:
    with sqlite3.connect(cache / "cache.db") as db:
        changed = db.execute(sql, params).rowcount
    assert changed, sql
    return changed


def _check(config: Path, cache: Path, victim: Path, expected: str) -> None:
    listed = _run(config, cache, "list", "--format", "json")
    assert listed.returncode == 0 and listed.stdout == expected, listed.stderr
    again = _run(config, cache, "list", "--format", "json")  # the rebuilt cache serves it
    assert again.stdout == expected
    info = _run(config, cache, "cache", "info", "--format", "json")
    assert info.returncode == 0, info.stderr
    json.loads(info.stdout)
    cleared = _run(config, cache, "cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    assert victim.read_text() == "precious\n"


def _value_file_name() -> str:
    return "ab/cd/" + "0" * 28 + ".val"


CASES = ["absolute", "dotdot", "fifo", "device", "symlink", "wrong-type", "garbage-bytes"]


@pytest.mark.parametrize("case", CASES)
def test_a_tampered_row_opens_reads_and_deletes_nothing_outside(
    setup: tuple[Path, Path, Path, str], case: str
) -> None:
    config, cache, victim, expected = setup
    assert _run(config, cache, "list", "--format", "json").stdout == expected
    where = "key LIKE 'state:%' OR key LIKE 'layer:%'"
    if case == "absolute":
        _tamper(
            cache,
            f"UPDATE Cache SET mode=?, filename=?, value=NULL WHERE {where}",
            MODE_BINARY,
            str(victim),
        )
    elif case == "dotdot":
        _tamper(
            cache,
            f"UPDATE Cache SET mode=?, filename=?, value=NULL WHERE {where}",
            MODE_BINARY,
            "../victim.txt",
        )
    elif case in ("fifo", "symlink"):
        target = cache / _value_file_name()
        target.parent.mkdir(parents=True, exist_ok=True)
        if case == "fifo":
            os.mkfifo(target)
        else:
            target.symlink_to(victim)
        _tamper(
            cache,
            f"UPDATE Cache SET mode=?, filename=?, value=NULL WHERE {where}",
            MODE_BINARY,
            _value_file_name(),
        )
    elif case == "device":
        _tamper(
            cache,
            f"UPDATE Cache SET mode=?, filename=?, value=NULL WHERE {where}",
            MODE_BINARY,
            "/dev/zero",
        )
    elif case == "wrong-type":
        _tamper(cache, f"UPDATE Cache SET mode=?, value=42 WHERE {where}", MODE_RAW)
    else:
        _tamper(cache, f"UPDATE Cache SET mode=?, value=? WHERE {where}", MODE_RAW, b"\x00garbage")
    _check(config, cache, victim, expected)


@pytest.mark.parametrize("counter", ["stats:hits", "stats:misses"])
def test_a_counter_that_is_not_an_integer_is_dropped(
    setup: tuple[Path, Path, Path, str], counter: str
) -> None:
    config, cache, victim, expected = setup
    _run(config, cache, "list", "--format", "json")  # a miss
    _run(config, cache, "list", "--format", "json")  # a hit
    _tamper(cache, "UPDATE Cache SET mode=?, value=? WHERE key=?", MODE_RAW, b"nope", counter)
    listed = _run(config, cache, "list", "--format", "json")
    info = _run(config, cache, "cache", "info", "--format", "json")
    assert listed.stdout == expected and info.returncode == 0
    assert "counter" in listed.stderr + info.stderr
    _check(config, cache, victim, expected)


@pytest.mark.parametrize("what", ["key", "value"])
def test_a_pickled_row_never_breaks_cache_info_or_clear(
    setup: tuple[Path, Path, Path, str], what: str
) -> None:
    config, cache, victim, expected = setup
    _run(config, cache, "list", "--format", "json")
    with sqlite3.connect(cache / "cache.db") as db:
        if what == "key":
            db.execute(
                "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
                " tag, size, mode, filename, value) VALUES (?, 0, 0, NULL, 0, 0, NULL, 0, ?, NULL, ?)",
                (pickle.dumps(("a", "tuple")), MODE_RAW, b"v"),
            )
        else:
            db.execute(
                "UPDATE Cache SET mode=?, value=? WHERE key LIKE 'state:%'",
                (MODE_PICKLE, pickle.dumps(1)),
            )
    info = _run(config, cache, "cache", "info", "--format", "json")
    assert info.returncode == 0 and "pickled" in info.stderr + _run(config, cache, "list").stderr
    _check(config, cache, victim, expected)


def test_a_foreign_cache_db_is_never_replaced_or_altered(
    setup: tuple[Path, Path, Path, str], tmp_path: Path
) -> None:
    config, _, victim, expected = setup
    for content in (b"not a database at all\n", None):
        cache = tmp_path / ("foreign-text" if content else "foreign-sqlite")
        cache.mkdir(mode=0o700)
        database = cache / "cache.db"
        if content is not None:
            database.write_bytes(content)
        else:
            with sqlite3.connect(database) as db:
                db.execute("CREATE TABLE other_app (x)")
        before = database.read_bytes()
        listed = _run(config, cache, "list", "--format", "json")
        assert listed.stdout == expected and "did not create" in listed.stderr
        _run(config, cache, "cache", "clear")
        assert database.read_bytes() == before
        assert sorted(p.name for p in cache.iterdir()) == ["cache.db"]
    assert victim.read_text() == "precious\n"


def test_a_cache_dir_named_by_templar_yaml_keeps_to_its_own_subdirectory(
    setup: tuple[Path, Path, Path, str], tmp_path: Path
) -> None:
    config, _, victim, expected = setup
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache.db").write_bytes(b"someone else's\n")
    (config / "templar.yaml").write_text(f"cache: {{dir: {str(home)!r}}}\n")
    env = {k: v for k, v in os.environ.items() if k != "TEMPLAR_CACHE_DIR"}
    for _ in range(2):
        done = subprocess.run(
            [str(TEMPLATES), "--config-dir", str(config), "list", "--format", "json"],
            env={**env, "TEMPLAR_PLUGINS": ""},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout == expected, done.stderr
    assert (home / "cache.db").read_bytes() == b"someone else's\n"
    assert sorted(p.name for p in home.iterdir()) == ["cache.db", "templar-cache"]
    assert (home / "templar-cache" / ".templar-cache").is_file()
    assert victim.read_text() == "precious\n"


def test_a_full_disk_gives_correct_output_and_a_warning(
    setup: tuple[Path, Path, Path, str],
) -> None:
    config, cache, victim, expected = setup
    done = _run(config, cache, "list", "--format", "json", limit_file_size=8192)
    assert done.returncode == 0 and done.stdout == expected, done.stderr
    assert "cache" in done.stderr
    _check(config, cache, victim, expected)


# -- a cache directory Templar may not write ---------------------------------------------


def test_a_cache_directory_that_cannot_be_created_warns_once_and_still_answers(
    setup: tuple[Path, Path, Path, str], tmp_path: Path
) -> None:
    """What every user, root included, can meet: a file where the cache dir should be."""
    config, _, victim, expected = setup
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("in the way\n")
    for _ in range(2):
        done = _run(config, blocker / "cache", "list", "--format", "json")
        assert done.returncode == 0 and done.stdout == expected, done.stderr
        warnings = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(warnings) == 1 and "cannot be created" in warnings[0], done.stderr
    assert blocker.read_text() == "in the way\n" and victim.read_text() == "precious\n"


def test_a_read_only_cache_directory_warns_once_and_still_answers(tmp_path: Path) -> None:
    import shutil
    import tempfile

    prefix = as_unprivileged()
    # somewhere the unprivileged user can reach (pytest's tmp_path is root's own)
    base = Path(tempfile.mkdtemp(prefix="templar-ro-cache-", dir="/tmp"))
    try:
        base.chmod(0o755)
        config, cache = base / "config", base / "cache"
        config.mkdir()
        layer = config / "templates.yaml"
        layer.write_text("- template_id: a\n  name: first\n- template_id: b\n")
        if prefix:  # that user's own directory, as a cache dir is its user's
            for path in (base, config, layer):
                os.chown(path, 65534, -1)

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "TEMPLAR_CACHE_DIR": str(cache), "TEMPLAR_PLUGINS": ""}
            env.pop("COVERAGE_PROCESS_START", None)
            command = [*prefix, str(TEMPLATES), "--config-dir", str(config), *args]
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
            assert "Traceback" not in done.stderr, done.stderr
            return done

        first = run("list", "--format", "json")  # fills the cache, as that user
        assert first.returncode == 0 and first.stderr == "", first.stderr
        assert [t["template_id"] for t in json.loads(first.stdout)] == ["a", "b"]
        assert any(cache.rglob("cache.db"))

        for path in [cache, *cache.rglob("*")]:  # the whole cache: nothing may be written
            if path.is_dir():
                path.chmod(0o500)
            elif path.is_file():
                path.chmod(0o400)
        probe = subprocess.run(
            [*prefix, "sh", "-c", f"touch {cache}/probe"], capture_output=True, check=False
        )
        assert probe.returncode != 0  # the directory really is read-only for that user

        layer.write_text("- template_id: a\n  name: second\n- template_id: c\n")
        expected = run("--no-cache", "list", "--format", "json").stdout
        for _ in range(2):  # a change the cache cannot record, read twice: never stale
            done = run("list", "--format", "json")
            assert done.returncode == 0, done.stderr
            assert done.stdout == expected
            warnings = [line for line in done.stderr.splitlines() if line.strip()]
            assert len(warnings) == 1 and "cache" in warnings[0], done.stderr
        shown = run("show", "a", "--format", "json")
        assert shown.returncode == 0 and json.loads(shown.stdout)["name"] == "second"

        for path in [cache, *cache.rglob("*")]:  # writable again: nothing was poisoned
            path.chmod(0o700 if path.is_dir() else 0o600)
        healed = run("list", "--format", "json")
        assert healed.returncode == 0 and healed.stdout == expected, healed.stderr
        assert run("list", "--format", "json").stdout == expected
    finally:
        shutil.rmtree(base, ignore_errors=True)
