"""Cached answers of read-only commands: replayed before the engine is imported, and
recorded when a command computes one the normal way.

The ``templates`` entry point (:func:`templar.cli.main`) first calls :func:`serve`:

* the **key** of an answer is everything about the invocation that is not a file:
  the arguments as given, the working directory, the config directory they resolve
  to, the environment variables Templar, its plugins and the terminal code read
  (:data:`templar.cli.invocation.ENVIRONMENT_PREFIXES` and ``ENVIRONMENT_NAMES``), whether stdin, stdout
  and stderr are terminals and the terminal's size, the streams' encodings, and the
  interpreter (executable, version, flags, warning and ``-X`` options, ``sys.path``);
* its **inputs** are every file and directory the command read or listed, found by an
  audit hook (:pep:`578`) while it runs: the layer files, ``templar.yaml``, ORB's
  ``config.json``, every directory discovery listed, the entry-point metadata that
  chose the plugins, plus the config directory, the source file of every module the
  command imported (Templar's, the plugins', the libraries') and their directories.
  :mod:`templar.cache.answers` keeps them by ``stat`` signature.

On a hit the stored bytes are written to file descriptors 1 and 2 in the order the
command wrote them, and the process exits with the stored status; nothing else is
imported. On a miss, or on any doubt (an unreadable config, a cache that fails), the
command runs the normal way while :class:`Recording` captures what it writes. The
answer is then stored only if the command said it is a read-only query
(:func:`read_only`), ran with the cache enabled on file storage, ended with status 0
or 1 without an error message, from a load the engine itself cached, and no plugin,
cache or stale-storage warning was shown (those must come again next time).
"""

from __future__ import annotations

import functools
import io
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from templar.cli.invocation import command_of, config_dir_of, invocation_key_material

if TYPE_CHECKING:
    from templar.cache.answers import CacheLocation, Signature
    from templar.engine import TemplateEngine

F = TypeVar("F", bound=Callable[..., Any])

#: The commands marked :func:`read_only`: only their invocations are recorded (a
#: plugin's command is never answered from the cache).
READ_ONLY_COMMANDS = frozenset({"list", "show", "validate"})

#: the recording of the command under way in this process (one at a time)
_recording: Recording | None = None
_hook_installed = False


def serve(argv: Sequence[str] | None) -> Recording | None:
    """Replay the cached answer of this command and exit, when there is a valid one;
    else the :class:`Recording` the command runs under (``None``: nothing to record).
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    if "--no-cache" in args or command_of(args) not in READ_ONLY_COMMANDS:
        return None
    try:
        found = _lookup(args)
    except Exception:  # any doubt: the normal path, which reports real problems
        return None
    if found is None:
        return None
    recording, answer = found
    if answer is not None:
        _replay(answer.chunks, answer.exit_code)
    return recording


def _lookup(args: list[str]) -> tuple[Recording, Any] | None:
    from templar.cache.answers import answer_key, find_answer, locate

    config_dir = config_dir_of(args)
    if config_dir is None:
        return None
    location = locate(Path(config_dir))
    if location is None:
        return None
    key = answer_key(config_dir, invocation_key_material(args))
    recording = Recording(key, config_dir, location)
    if not location.directory.is_dir():
        return recording, None
    from templar.cache.keys import STATS_HITS
    from templar.cache.store import CacheStore

    store = CacheStore(location.directory)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answer = find_answer(store, key)
        if answer is not None:
            store.increment(STATS_HITS)
        store.close()
    if caught:  # a corrupt entry was dropped: say so as the command would, and run it
        recording.warnings = [w.message for w in caught]
        return recording, None
    return recording, answer


def _replay(chunks: Sequence[tuple[int, bytes]], exit_code: int) -> None:
    """Write the stored bytes as the command did, and exit with its status."""
    try:
        for fd, data in chunks:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
    except BrokenPipeError:  # ``| head``: the reader had what it wanted, as on the slow path
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        exit_code = 0
    sys.exit(exit_code)


class _TeeRaw(io.RawIOBase):
    """File descriptor ``fd`` as a raw stream that also records every write."""

    def __init__(self, fd: int, chunks: list[tuple[int, bytes]], recording: Recording) -> None:
        super().__init__()
        self.fd = fd
        self.chunks = chunks
        self.recording = recording

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        try:
            written = os.write(self.fd, view)
        except OSError:
            self.recording.refuse("a write failed")
            raise
        self.chunks.append((self.fd, bytes(view[:written])))
        return written


class Recording:
    """One command run the normal way while what it prints and reads is recorded."""

    def __init__(self, key: str, config_dir: str, location: CacheLocation) -> None:
        self.key = key
        self.config_dir = config_dir
        self.location = location
        self.started_ns = time.time_ns()
        self.warnings: list[Warning | str] = []
        self.chunks: list[tuple[int, bytes]] = []
        self.opened: set[str] = set()
        self.listed: set[str] = set()
        self.written: set[str] = set()
        self.refused: str | None = None
        self.read_only = False
        self.engine: TemplateEngine | None = None
        self._streams: tuple[Any, Any] | None = None

    def refuse(self, why: str) -> None:
        """This run's output must not be stored (the first reason is kept)."""
        if self.refused is None:
            self.refused = why

    # -- capturing ------------------------------------------------------------------

    def start(self) -> None:
        """Capture stdout and stderr and what is opened and listed, from now on."""
        global _recording, _hook_installed
        self.started_ns = time.time_ns()
        replaced = []
        for original in (sys.stdout, sys.stderr):
            try:
                fd = original.fileno()
                original.flush()
            except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
                return  # not real file descriptors: nothing to record
            raw = _TeeRaw(fd, self.chunks, self)
            stream = io.TextIOWrapper(
                io.BufferedWriter(raw),
                encoding=original.encoding,
                errors=original.errors,
                line_buffering=bool(original.line_buffering),
                write_through=getattr(original, "write_through", False),
            )
            replaced.append(stream)
        self._streams = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = replaced
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True
        _recording = self

    def finish(self) -> None:
        """Stop capturing: flush what is buffered, give the streams back."""
        global _recording
        if _recording is self:
            _recording = None
        if self._streams is None:
            return
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                self.refuse("a write failed")
        captured = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = self._streams
        for stream in captured:
            if isinstance(stream, io.TextIOWrapper):
                stream.detach()  # the descriptors stay open: they are the process's own
        self._streams = None

    def note_open(self, path: Any, mode: Any, flags: Any) -> None:
        """An ``open`` audit event: a file read (an input) or written."""
        if isinstance(path, int):
            return
        name = os.fsdecode(path)
        if mode is None and not os.path.isabs(name):
            # os.open relative to a directory descriptor (the cache's value files,
            # templar.cache.disk): the event does not say which directory
            return
        if name.endswith(".pyc"):
            return  # bytecode: its module's source is an input
        name = os.path.abspath(name)
        writes = isinstance(flags, int) and flags & (
            os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
        )
        if writes or (isinstance(mode, str) and any(c in mode for c in "wax+")):
            self.written.add(name)
        else:
            self.opened.add(name)

    def note_listing(self, path: Any) -> None:
        """An ``os.listdir``/``os.scandir`` audit event: a directory listed."""
        if isinstance(path, int):
            self.refuse("a directory listed by descriptor")
            return
        self.listed.add(os.path.abspath(os.fsdecode(path if path is not None else ".")))

    # -- storing --------------------------------------------------------------------

    def store(self, exit_code: int) -> bool:
        """Store what the command printed, if it may be (see the module docstring)."""
        from templar.cache.answers import Answer, racy, signature, store_answer

        engine = self.engine
        if not self.read_only or engine is None or self.refused or exit_code not in (0, 1):
            return False
        made_at = self._made_at(engine)
        if made_at is None:
            return False
        cache_dir = os.path.realpath(self.location.directory)
        inside = (cache_dir.rstrip(os.sep) + os.sep, "/dev/", "/proc/", "/sys/")
        if any(not path.startswith(inside) for path in self.written):
            return False  # a read-only command that wrote a file: not a query
        paths = {p for p in self.opened | self.listed if not p.startswith(inside)}
        paths |= {os.path.dirname(p) for p in self.opened if not p.startswith(inside)}
        paths.discard(cache_dir)  # the cache's own directory changes with every entry
        paths.add(self.config_dir)
        # A warm load reads no layer file (their stat and hash come from the cache):
        # the storage names every file the load depends on.
        for file in engine.storage.watched_files():
            paths.add(os.path.abspath(file))
            paths.add(os.path.dirname(os.path.abspath(file)))
        for module in list(sys.modules.values()):
            origin = getattr(module, "__file__", None)
            if isinstance(origin, str):
                paths.add(origin)
                paths.add(os.path.dirname(origin))
        inputs: dict[str, Signature] = {p: signature(p) for p in paths}
        if racy(inputs, self.started_ns):
            return False
        cache = engine.cache
        if cache is None:
            return False
        answer = Answer(tuple(_merged(self.chunks)), exit_code)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failing cache says so on its next read
            return store_answer(
                cache.store, self.key, answer, inputs, made_at, self.location.ttl_seconds
            )

    def _made_at(self, engine: TemplateEngine) -> float | None:
        """When the load the answer shows was made (its TTL counts from then: the
        cached load's time, else this command's start), if the engine used the cache
        this location names, for this config directory, on file storage."""
        session = engine.session
        cache = engine.cache
        if cache is None or str(engine.config_dir) != self.config_dir:
            return None
        from templar.storage.files import FileStorage

        if type(engine.storage) is not FileStorage or session.plugin_failures():
            return None  # a database's content has no stat signature
        if Path(os.path.realpath(cache.directory)) != Path(
            os.path.realpath(self.location.directory)
        ):
            return None
        if cache.ttl_seconds != self.location.ttl_seconds:
            return None
        state = session.current
        if state is not None and state.from_cache and state.cache_key is not None:
            info = cache.entry_info(state.cache_key)
            if info is None:
                return None
            return info.cached_at.timestamp()
        # Made from the files by this command (a state it cached, or the one-template
        # read of show): every file it read is an input, checked as racy above.
        return self.started_ns / 1e9


def _merged(chunks: Sequence[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Consecutive writes to one descriptor as one chunk."""
    out: list[tuple[int, bytes]] = []
    for fd, data in chunks:
        if out and out[-1][0] == fd:
            out[-1] = (fd, out[-1][1] + data)
        elif data:
            out.append((fd, data))
    return out


def _audit(event: str, args: tuple[Any, ...]) -> None:
    recording = _recording
    if recording is None:
        return
    if event == "open":
        recording.note_open(*args[:3])
    elif event == "os.listdir" or event == "os.scandir":
        recording.note_listing(args[0] if args else None)


def read_only(command: F) -> F:
    """Mark a command as a read-only query whose whole answer may be cached: its
    output depends only on its arguments, environment and what it reads."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        recording = _recording
        if recording is not None:
            recording.read_only = True
        from templar.session import gc_paused

        # A query builds its answer from objects that live until it is printed: the
        # collections their allocation would trigger (each walking the whole load once
        # it is in the oldest generation) find nothing to free.
        with gc_paused():
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def note_engine(engine: TemplateEngine) -> None:
    """The engine the command under way uses (``CliContext.engine``)."""
    if _recording is not None:
        _recording.engine = engine


def pending_warnings() -> list[Warning | str]:
    """The warnings met while looking for this command's answer (a corrupt entry
    dropped), for the command to show as it shows its own; then forgotten."""
    if _recording is None:
        return []
    pending, _recording.warnings = _recording.warnings, []
    return pending


def refuse(why: str) -> None:
    """The command under way printed something not to be replayed (an error line)."""
    if _recording is not None:
        _recording.refuse(why)


def note_warning(message: Warning | str, category: type[Warning]) -> None:
    """A warning the command showed: Templar's cache, plugin and stale-storage ones
    are about this run and must be shown again, so its answer is not stored."""
    if _recording is None:
        return
    from templar.errors import TemplarCacheWarning, TemplarPluginWarning, TemplarStaleWarning

    if issubclass(category, (TemplarCacheWarning, TemplarPluginWarning, TemplarStaleWarning)):
        _recording.refuse(f"a {category.__name__}")
