"""Hot reload: watch a config directory with watchfiles and reload what changed.

:meth:`templar.TemplateEngine.watch` returns a :class:`Watcher`. Iterate it for
:class:`~templar.models.ChangeEvent` objects (``for event in engine.watch(): ...``),
give it an ``on_change`` callback to have it run in a background thread, or use
``async for`` (:meth:`templar.TemplateEngine.awatch`) under asyncio. :meth:`Watcher.stop`
ends any of them within a few milliseconds.

Debouncing: watchfiles hands over a batch as soon as the set of changed paths stops
growing, which a burst of saves to one file never does; so the watcher waits until
no change at all has arrived for ``debounce_ms`` (``watch.debounce_ms`` in
``templar.yaml``, 50 ms by default) and then reloads once. Only layer files and the
engine config are watched: an editor's swap and backup files, or any other file in
the directory, wake nothing.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from templar.errors import StorageError, TemplarWatchWarning
from templar.settings import SETTINGS_FILE_NAMES
from templar.storage import FileStorage, layer_source_for

if TYPE_CHECKING:
    from templar.engine import TemplateEngine
    from templar.models import ChangeEvent

#: How often watchfiles' loop looks at what it collected (and at ``stop()``), in ms.
STEP_MS = 5
#: With no debounce, how often the loop still wakes up (to notice it is ready).
_IDLE_TICK_MS = 100


def is_watched(path: str) -> bool:
    """True for the files whose change can change the templates: layer files and the
    engine config. Anything else in the config directory is ignored."""
    name = Path(path).name
    return name in SETTINGS_FILE_NAMES or layer_source_for(Path(path)) is not None


class Watcher:
    """Hot reload of one engine. See the module docstring for the three ways to use it.

    :param engine: the engine to keep up to date.
    :param debounce_ms: quiet time before reloading; default ``watch.debounce_ms``.
    :param on_change: called with each event from a background thread, after the
        engine's state was updated and the ``templar_on_change`` hook ran.
    :param on_ready: called once the file system watch is in place (changes made
        after it are seen), from the thread that watches.
    """

    def __init__(
        self,
        engine: TemplateEngine,
        *,
        debounce_ms: int | None = None,
        on_change: Callable[[ChangeEvent], Any] | None = None,
        on_ready: Callable[[], Any] | None = None,
    ) -> None:
        if not isinstance(engine.storage, FileStorage):
            raise StorageError(
                f"storage backend '{engine.storage.name}' has no files to watch; "
                "call engine.reload() to pick up its changes",
                field="storage.backend",
            )
        self.engine = engine
        self.debounce_ms = engine.settings.watch.debounce_ms if debounce_ms is None else debounce_ms
        if self.debounce_ms < 0:
            raise ValueError("debounce_ms must be >= 0")
        self.on_change = on_change
        self.on_ready = on_ready
        #: set once the file system watch is in place: changes after this are seen
        self.ready = threading.Event()
        #: what went wrong and was skipped (a callback that raised, a failed reload)
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "stopped" if self._stop.is_set() else "running" if self.ready.is_set() else "new"
        return f"<Watcher {self.engine.config_dir} debounce={self.debounce_ms}ms {state}>"

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
            target=self._run, name=f"templar-watch {self.engine.config_dir}", daemon=True
        )
        self._thread.start()
        while not self.ready.wait(0.01):
            if not self._thread.is_alive():
                break
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop watching; joins the background thread, if any."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> Watcher:
        return self.start() if self.on_change is not None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aiter__(self) -> AsyncIterator[ChangeEvent]:
        """Change events under asyncio; reloads run in a worker thread."""
        import watchfiles

        await asyncio.to_thread(self._prime)
        pending: set[str] = set()
        # watchfiles only asks the stop event ``is_set()`` (and ``set()`` on
        # cancellation), so the same threading.Event serves both worlds.
        async for changes in watchfiles.awatch(
            self.engine.config_dir,
            watch_filter=lambda _change, path: is_watched(path),
            step=STEP_MS,
            stop_event=self._stop,
            rust_timeout=self._timeout_ms,
            yield_on_timeout=True,
            recursive=False,
        ):
            if not self.ready.is_set():  # see _settled_changes
                event = await asyncio.to_thread(self._apply, set())
                if event is not None:
                    yield event
                self._mark_ready()
            pending.update(path for _change, path in changes)
            if changes and self.debounce_ms:
                continue
            if pending:
                batch, pending = pending, set()
                event = await asyncio.to_thread(self._apply, batch)
                if event is not None:
                    yield event

    # -- the work -----------------------------------------------------------------------

    @property
    def _timeout_ms(self) -> int:
        return self.debounce_ms if self.debounce_ms > 0 else _IDLE_TICK_MS

    def _prime(self) -> None:
        """Load from the files, so that the first change has layers to compare to."""
        self.engine._prepare_hot_reload()

    def _settled_changes(self) -> Iterator[set[str]]:
        """Paths that changed, once no change has come for ``debounce_ms``."""
        import watchfiles

        pending: set[str] = set()
        for changes in watchfiles.watch(
            self.engine.config_dir,
            watch_filter=lambda _change, path: is_watched(path),
            step=STEP_MS,
            stop_event=self._stop,
            rust_timeout=self._timeout_ms,
            yield_on_timeout=True,
            recursive=False,
        ):
            if not self.ready.is_set():
                # The watch is in place. A file saved while the engine loaded, before it
                # was, would wait for the next change: look at every file once (a stat
                # each), then say we are ready.
                yield set()
                self._mark_ready()
            pending.update(path for _change, path in changes)
            if changes and self.debounce_ms:
                continue  # wait for a quiet period
            if pending:
                batch, pending = pending, set()
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
            return self.engine._hot_reload(files, full=full)
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
            self._report(f"watching {self.engine.config_dir} failed: {e!r}")
        finally:
            self.ready.set()

    def _report(self, message: str) -> None:
        self.failures.append(message)
        # a warnings filter set to "error" must not end the watcher
        with suppress(Exception):
            warnings.warn(f"templar: {message}; still watching", TemplarWatchWarning, stacklevel=2)
