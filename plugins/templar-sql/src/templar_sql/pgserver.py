"""A throwaway PostgreSQL server, for tests, benchmarks and the many-hosts example.

:class:`ThrowawayPostgres` makes a cluster with the installed PostgreSQL binaries in a
fresh temporary directory and starts it listening on a unix socket in that directory
only (no TCP port at all), with durability traded for speed unless asked otherwise.
``initdb`` refuses to run as root, so as root every server command runs as the
``postgres`` user through ``runuser -u postgres`` (the directory is handed to it)::

    with ThrowawayPostgres() as server:
        url = server.create_database("demo")   # postgresql+psycopg://templar@/demo?host=...
        ...

Binaries are looked for in ``$TEMPLAR_PG_BINDIR``, then ``/usr/lib/postgresql/<newest>/bin``
(Debian and Ubuntu), then ``$PATH``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

#: The database superuser of the throwaway cluster (local connections are trusted).
SUPERUSER = "templar"
_PORT = 5432  # only names the socket file: the server has no TCP listener


class PostgresCommandError(RuntimeError):
    """A PostgreSQL server command failed; the message holds its output and the log's end."""


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``."""
    configured = os.environ.get("TEMPLAR_PG_BINDIR")
    candidates = [Path(configured)] if configured else []
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(
        (Path(p) for p in versions), key=lambda p: _version_key(p.parent.name), reverse=True
    )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


class ThrowawayPostgres:
    """A private PostgreSQL cluster that lives as long as this object.

    :param durable: keep PostgreSQL's fsync (off by default: a throwaway cluster has
        nothing to lose to a power cut, and tests run faster; a killed server still
        keeps every commit it acknowledged).
    """

    def __init__(self, *, durable: bool = False) -> None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install "
                "them (Debian: apt-get install -y postgresql) or set TEMPLAR_PG_BINDIR"
            )
        self.bin_dir = bin_dir
        self.durable = durable
        self.base = Path(tempfile.mkdtemp(prefix="templar-pg-"))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base
        self._as_postgres = os.geteuid() == 0
        self._running = False
        self._databases = 0

    def __repr__(self) -> str:
        return f"ThrowawayPostgres({str(self.base)!r}, running={self._running})"

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> ThrowawayPostgres:
        """Make the cluster (the first time) and start the server; returns once it accepts
        connections."""
        if not self.data_dir.exists():
            if self._as_postgres:
                shutil.chown(self.base, "postgres", "postgres")
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
            atexit.register(self.close)
        options = [
            "-c listen_addresses=''",
            f"-c unix_socket_directories='{self.socket_dir}'",
            f"-p {_PORT}",
            # test sessions keep a small pool open per database they made
            "-c max_connections=300",
        ]
        if not self.durable:
            # Not synchronous_commit=off: a killed server would lose commits it had
            # acknowledged, and the fault tests kill it. fsync=off loses nothing to a
            # process kill (the kernel still has the pages), only to a power cut.
            options += ["-c fsync=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.base / "server.log"),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "30",
            "start",
        )
        self._running = True
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown); the cluster stays for :meth:`start`."""
        if self._running:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            self._running = False

    def kill(self) -> None:
        """Kill the server the hard way (``SIGKILL`` to the postmaster and every backend),
        as a crash or a pulled cable would: clients see their connections drop."""
        pid = self.pid
        if pid is None:
            return
        # The postmaster's children are its backends: kill them too, so that no client
        # keeps a connection to a server that is gone.
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for target in [pid, *(int(c) for c in children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)
        # Where nothing reaps orphans (a container's init), the dead postmaster stays a
        # zombie, which a restart would take for a running server: its lock files go.
        for lock in (self.data_dir / "postmaster.pid", self.socket_dir / f".s.PGSQL.{_PORT}.lock"):
            lock.unlink(missing_ok=True)
        self._running = False

    def close(self) -> None:
        """Stop the server and delete the cluster."""
        try:
            if self._running and self.pid is not None:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        except PostgresCommandError:
            self.kill()
        self._running = False
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- using it -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        pid = int(first) if first.strip().isdigit() else None
        return pid if pid is not None and _alive(pid) else None

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of one database of this server."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}&port={_PORT}"

    def create_database(self, name: str | None = None) -> str:
        """Create a new empty database (``name``, or a fresh one) and return its URL."""
        import psycopg
        from psycopg import sql

        if name is None:
            self._databases += 1
            name = f"templar_{os.getpid()}_{self._databases}"
        with psycopg.connect(
            dbname="postgres",
            user=SUPERUSER,
            host=str(self.socket_dir),
            port=_PORT,
            autocommit=True,
        ) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        environment = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            env=environment,
            cwd=self.base,
        )
        if result.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresCommandError(
                f"{program} exited with {result.returncode}: "
                f"{(result.stderr or result.stdout).strip()}\n{tail}"
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) is not running.
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return status != "Z"
