"""Atomic, locked, versioned writes (templar.storage.atomic), with real processes."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from templar.errors import ConcurrencyError, StorageError
from templar.reader import parse_document
from templar.storage.atomic import check_safe_name, file_version, update_file
from templar.storage.edits import edit_file


def test_update_file_writes_and_returns_the_new_version(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text("- template_id: a\n")
    version = file_version(path)
    new_version = update_file(path, version, lambda old: (old or b"") + b"- template_id: b\n")
    assert path.read_text() == "- template_id: a\n- template_id: b\n"
    assert new_version == file_version(path) != version


def test_a_stale_version_is_refused_naming_the_file_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text("- template_id: a\n")
    read_version = file_version(path)
    path.write_text("- template_id: someone-else\n")  # another writer got there first
    with pytest.raises(ConcurrencyError) as caught:
        update_file(path, read_version, lambda old: b"- template_id: mine\n")
    assert str(path) in str(caught.value)
    assert caught.value.context["expected_version"] == read_version
    assert path.read_text() == "- template_id: someone-else\n"


def test_expected_none_means_the_file_must_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    update_file(path, None, lambda old: b"[]\n")
    assert path.read_text() == "[]\n"
    with pytest.raises(ConcurrencyError):
        update_file(path, None, lambda old: b"- template_id: x\n")


def test_permissions_are_kept_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    path = tmp_path / "awsprov_templates.json"
    path.write_text('{"templates": []}\n')
    path.chmod(0o640)
    edit_file(path, file_version(path), {"a": {"templateId": "a"}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [".templar", "awsprov_templates.json"]
    assert sorted(p.name for p in (tmp_path / ".templar").iterdir()) == [
        ".gitignore",
        "awsprov_templates.json.lock",
    ]


def test_a_symlinked_layer_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "templates.yaml"
    real.parent.mkdir()
    real.write_text("- template_id: a\n  x: 1\n")
    link = tmp_path / "templates.yaml"
    link.symlink_to(real)
    edit_file(link, file_version(link), {"a": {"template_id": "a", "x": 2}})
    assert link.is_symlink()
    assert real.read_text() == "- template_id: a\n  x: 2\n"


def test_a_failing_edit_touches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text("- template_id: a\n")

    def boom(old: bytes | None) -> bytes:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        update_file(path, file_version(path), boom)
    assert path.read_text() == "- template_id: a\n"


@pytest.mark.parametrize(
    "name",
    ["../etc", "a/b", "a\\b", "/abs", "..", "a\0b", "", " ", "x/../y", "tab\there"],
)
def test_names_that_could_escape_the_config_dir_are_refused(name: str) -> None:
    with pytest.raises(StorageError, match="refused template id"):
        check_safe_name(name, "template id")


@pytest.mark.parametrize("name", ["web-small", "aws-prod", "a.b", "tpl_01", "Ünïcode"])
def test_ordinary_names_pass(name: str) -> None:
    check_safe_name(name, "template id")


# --------------------------------------------------------------------------- processes


def _rewrite_forever(path: Path, versions: list[bytes], ready: int) -> None:
    """The child: rewrite ``path`` with each version in turn until killed."""
    n = 0
    while True:
        update_file(path, file_version(path), lambda old, data=versions[n % 2]: data)
        if n == 0:
            os.write(ready, b"r")
        n += 1


def test_killing_the_writer_at_random_points_never_leaves_a_partial_file(
    tmp_path: Path,
) -> None:
    """SIGKILL a process rewriting a 200 kB layer in a loop, 50 times, at random
    moments: the file is always the complete old or the complete new version, and parses."""
    rows = "".join(
        f"- template_id: t{i}\n  configuration: {{max_number: {i}}}\n" for i in range(4_000)
    )
    old = rows.encode()
    new = rows.replace("max_number", "max_count").encode()
    path = tmp_path / "templates.yaml"
    path.write_bytes(old)
    rng = random.Random(10)
    seen = set()
    for _ in range(50):
        ready_read, ready_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer; never returns into pytest
            try:
                os.close(ready_read)
                _rewrite_forever(path, [old, new], ready_write)
            finally:
                os._exit(1)
        os.close(ready_write)
        assert os.read(ready_read, 1) == b"r"
        os.close(ready_read)
        time.sleep(rng.uniform(0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        content = path.read_bytes()
        assert content in (old, new)
        seen.add(content == new)
        assert len(parse_document(path, content)) == 4_000
    assert seen == {True, False}  # the kills did land at different points of the loop
    # a kill between mkstemp and the rename leaves a temporary file in .templar/ (never
    # beside the layer); the next writer of the file removes it under its lock
    assert sorted(p.name for p in tmp_path.iterdir()) == [".templar", "templates.yaml"]
    (tmp_path / ".templar" / "templates.yaml.k1ll3d.tmp").write_bytes(old[:100])
    (tmp_path / ".templar" / "other.yaml.a1ive.tmp").write_bytes(b"another file's writer")
    update_file(path, file_version(path), lambda current: new)
    assert sorted(p.name for p in (tmp_path / ".templar").iterdir()) == [
        ".gitignore",
        "other.yaml.a1ive.tmp",
        "templates.yaml.lock",
    ]


_SAVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from templar.storage.atomic import file_version
    from templar.storage.edits import edit_file
    from templar.errors import ConcurrencyError
    path, number, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.001)
    conflicts = 0
    while True:
        version = file_version(path)   # what this writer read
        body = {"template_id": f"t{number}", "configuration": {"max_number": number}}
        try:
            edit_file(path, version, {f"t{number}": body})
            break
        except ConcurrencyError:
            conflicts += 1    # someone wrote in between: read again, apply again
    print(conflicts)
    """
)


def test_eight_processes_saving_into_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "awsprov_templates.yaml"
    path.write_text("# shared by eight writers\ntemplates:\n  - template_id: base\n    x: 1\n")
    go = tmp_path / "go"
    savers = [
        subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(path), str(n), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    time.sleep(1.0)  # let every process start and wait at the line
    go.touch()
    outputs = [s.communicate(timeout=120)[0] for s in savers]
    assert all(s.returncode == 0 for s in savers), outputs
    data = parse_document(path, path.read_bytes())
    ids = [t["template_id"] for t in data["templates"]]
    assert sorted(ids) == sorted(["base", *(f"t{n}" for n in range(8))])
    assert path.read_text().startswith(
        "# shared by eight writers\ntemplates:\n  - template_id: base\n"
    )


def test_writes_leave_nothing_git_or_a_layer_reader_would_see(tmp_path: Path) -> None:
    """Config dirs live in git and in HostFactory's conf dir: after writes, git shows
    the edited file and nothing else, and the work directory is no layer."""
    from templar.storage.files import FileStorage

    path = tmp_path / "awsprov_templates.yaml"
    path.write_text("templates:\n  - template_id: a\n    x: 1\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "layers"], check=True)
    edit_file(path, file_version(path), {"a": {"template_id": "a", "x": 2}})
    edit_file(path, file_version(path), {"b": {"template_id": "b"}})
    edit_file(path, file_version(path), remove=["b"])
    status = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=all", "--ignored=no"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert status == " M awsprov_templates.yaml\n"
    assert (tmp_path / ".templar" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert [s.location for s in FileStorage(tmp_path).list_sources()] == [str(path)]
