"""Hot reload: follow a storage's changes and reload what changed.

:meth:`templar.TemplateEngine.watch` returns a :class:`Watcher`. Iterate it for
:class:`~templar.models.ChangeEvent` objects (``for event in engine.watch(): ...``),
give it an ``on_change`` callback to have it run in a background thread, or use
``async for`` (:meth:`templar.TemplateEngine.awatch`) under asyncio. :meth:`Watcher.stop`
ends any of them within a few milliseconds.

What changed comes from the storage contract alone,
:meth:`~templar.storage.StorageBackend.changes`: for files, watchfiles on the config
directory, waking only for layer files and the engine config (an editor's swap and
backup files wake nothing); for a database, whatever its backend listens to.

Debouncing: a burst of saves never stops producing changes, so the watcher waits until
no change at all has arrived for ``debounce_ms`` (``watch.debounce_ms`` in
``templar.yaml``, 50 ms by default) and then reloads once.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from templar.errors import StorageError, TemplarWatchWarning
from templar.reload import Reloader
from templar.settings import SETTINGS_FILE_NAMES

if TYPE_CHECKING:
    from templar.models import ChangeEvent


class Reloadable(Protocol):
    """Anything with a :class:`~templar.reload.Reloader`: a :class:`templar.TemplateEngine`."""

    @property
    def reloader(self) -> Reloader: ...


def watch(
    engine: Reloadable | Reloader,
    on_change: Callable[[ChangeEvent], Any] | None = None,
    *,
    debounce_ms: int | None = None,
) -> Watcher:
    """A :class:`Watcher` of ``engine`` (:meth:`templar.TemplateEngine.watch`): with
    ``on_change``, already watching in a background thread (:meth:`Watcher.start`);
    without it, to iterate."""
    watcher = Watcher(engine, debounce_ms=debounce_ms, on_change=on_change)
    return watcher.start() if on_change is not None else watcher


#: what the thread that follows the storage puts last in its queue
_END = object()


class Watcher:
    """Hot reload of one engine. See the module docstring for the three ways to use it.

    :param engine: the engine to keep up to date (or its
        :class:`~templar.reload.Reloader`, which is what the watcher drives).
    :param debounce_ms: quiet time before reloading; default ``watch.debounce_ms``.
    :param on_change: called with each event from a background thread, after the
        engine's state was updated and the ``templar_on_change`` hook ran.
    :param on_ready: called once the file system watch is in place (changes made
        after it are seen), from the thread that watches.
    """

    def __init__(
        self,
        engine: Reloadable | Reloader,
        *,
        debounce_ms: int | None = None,
        on_change: Callable[[ChangeEvent], Any] | None = None,
        on_ready: Callable[[], Any] | None = None,
    ) -> None:
        self.reloader = engine if isinstance(engine, Reloader) else engine.reloader
        session = self.reloader.session
        if not callable(getattr(session.storage, "changes", None)):
            # changes() is the optional part of the storage contract that watching needs
            raise StorageError(
                f"storage backend '{session.storage.name}' has no files to watch and no "
                "changes() to follow; call engine.reload() to pick up its changes",
                field="storage.backend",
            )
        #: what is watched (for messages)
        self.config_dir = session.config_dir
        self.debounce_ms = (
            session.settings.watch.debounce_ms if debounce_ms is None else debounce_ms
        )
        if self.debounce_ms < 0:
            raise ValueError("debounce_ms must be >= 0")
        self.on_change = on_change
        self.on_ready = on_ready
        #: set once the file system watch is in place: changes after this are seen
        self.ready = threading.Event()
        #: what went wrong and was skipped (a callback that raised, a failed reload)
        self.failures: list[str] = []
        self._stop = threading.Event()
        #: the stop events of the storage watches running now (one per iteration)
        self._follower_stops: list[threading.Event] = []
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "stopped" if self._stop.is_set() else "running" if self.ready.is_set() else "new"
        return f"<Watcher {self.config_dir} debounce={self.debounce_ms}ms {state}>"

    # -- the three ways in --------------------------------------------------------------

    def __iter__(self) -> Iterator[ChangeEvent]:
        return self.events()

    def events(self) -> Iterator[ChangeEvent]:
        """Change events, one per settled batch of changes, until :meth:`stop`."""
        self._prime()
        for paths in self._settled_changes():
            event = self._apply(paths)
            if event is not None:
                yield event

    def start(self) -> Watcher:
        """Watch in a daemon thread, calling ``on_change`` for each event; returns once
        the watch is in place."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._run, name=f"templar-watch {self.config_dir}", daemon=True
        )
        self._thread.start()
        while not self.ready.wait(0.01):
            if not self._thread.is_alive():
                break
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop watching; joins the background thread, if any."""
        self._stop.set()
        for follower_stop in list(self._follower_stops):
            follower_stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """True while the background thread of :meth:`start` runs."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Watcher:
        return self.start() if self.on_change is not None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aiter__(self) -> AsyncIterator[ChangeEvent]:
        """Change events under asyncio; the watch and the reloads run in worker threads."""
        events = self.events()
        try:
            while True:
                event = await asyncio.to_thread(next, events, None)
                if event is None:
                    return
                yield event
        finally:
            # cancelled or closed: end the watch, which ends the worker thread too
            self.stop(timeout=0)

    # -- the work -----------------------------------------------------------------------

    def _prime(self) -> None:
        """Load from the storage, so that the first change has layers to compare to."""
        self.reloader.prepare()

    def _follow(self, batches: queue.Queue[object], stop: threading.Event) -> None:
        """In a thread of its own: the storage's changes into ``batches``, then _END."""
        try:
            for batch in self.reloader.session.storage.changes(stop):
                batches.put(batch)
        except Exception as e:
            batches.put(e)
        finally:
            batches.put(_END)

    def _settled_changes(self) -> Iterator[set[str]]:
        """What changed, once no change has come for ``debounce_ms`` (the empty set: look
        at everything)."""
        batches: queue.Queue[object] = queue.Queue()
        # Its own stop event, so that leaving one iteration early ends its storage watch
        # and leaves the watcher usable; stop() sets them all.
        stop = threading.Event()
        self._follower_stops.append(stop)
        if self._stop.is_set():
            stop.set()
        follower = threading.Thread(
            target=self._follow, args=(batches, stop), name=f"{self!r} follower", daemon=True
        )
        follower.start()
        try:
            yield from self._debounced(batches)
        finally:
            stop.set()
            self._follower_stops.remove(stop)

    def _debounced(self, batches: queue.Queue[object]) -> Iterator[set[str]]:
        pending: set[str] | None = None  # None: nothing waits; set(): look at everything
        quiet = self.debounce_ms / 1000
        while True:
            try:
                item = batches.get(timeout=quiet) if pending is not None else batches.get()
            except queue.Empty:  # quiet for debounce_ms: reload once
                if pending is not None:
                    batch, pending = pending, None
                    yield batch
                continue
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            assert isinstance(item, set)
            if not self.ready.is_set():
                # The watch is in place. A file saved while the engine loaded, before it
                # was, would wait for the next change: look at every file once (a stat
                # each), then say we are ready.
                yield set()
                self._mark_ready()
                if not item:
                    continue
            if pending is None:
                pending = set(item)
            elif item and pending:
                pending |= item
            else:
                pending = set()  # someone could not say what changed: everything
            if not quiet:
                batch, pending = pending, None
                yield batch

    def _mark_ready(self) -> None:
        if self.ready.is_set():
            return
        self.ready.set()
        if self.on_ready is not None:
            try:
                self.on_ready()
            except Exception as e:
                self._report(f"on_ready callback raised {e!r}")

    def _apply(self, paths: set[str]) -> ChangeEvent | None:
        files = sorted(paths)
        full = any(Path(p).name in SETTINGS_FILE_NAMES for p in files)
        try:
            return self.reloader.apply(files, full=full)
        except Exception as e:
            self._report(f"could not reload after a change to {', '.join(files)}: {e!r}")
            return None

    def _run(self) -> None:
        callback = self.on_change
        try:
            for event in self.events():
                if callback is None:
                    continue
                try:
                    callback(event)
                except Exception as e:
                    self._report(f"on_change callback raised {e!r}")
        except Exception as e:  # the watch itself failed: say so, end the thread
            self._report(f"watching {self.config_dir} failed: {e!r}")
        finally:
            self.ready.set()

    def _report(self, message: str) -> None:
        self.failures.append(message)
        # a warnings filter set to "error" must not end the watcher
        with suppress(Exception):
            warnings.warn(f"templar: {message}; still watching", TemplarWatchWarning, stacklevel=2)
