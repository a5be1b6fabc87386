"""Reloading: bring a session's load up to date with its storage, partially when only
values were edited, and say what changed.

:meth:`Reloader.reload` is :meth:`templar.TemplateEngine.reload`. Hot reload
(:mod:`templar.watch`) drives :meth:`Reloader.prepare` once and :meth:`Reloader.apply`
for each settled batch of changes; it keeps the last good state: a template whose new
version is invalid keeps its last good version (listed as *stale*), and a layer file
that stops parsing keeps its last good templates, while the new issues still say what
is wrong. A later fix lists the template as *changed* again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from templar.changes import change_event, something_happened
from templar.errors import ConfigurationError
from templar.locate import issue_from_context
from templar.models import ChangeEvent, Severity, TemplateDTO
from templar.session import EngineSession, gc_paused
from templar.state import EngineState
from templar.storage import RawLayer


class Reloader:
    """Reloads one session and hands each change event to ``emit`` (the engine passes
    it to the plugins' ``templar_on_change``).

    :param session: the pipeline and load to keep up to date.
    :param emit: called with every event worth reporting.
    """

    def __init__(self, session: EngineSession, emit: Callable[[ChangeEvent], None]) -> None:
        self.session = session
        self.emit = emit

    def __repr__(self) -> str:
        return f"<Reloader {self.session!r}>"

    def reload(
        self, *, keep_last_good: bool = False, files: Iterable[str] = (), full: bool = False
    ) -> ChangeEvent | None:
        """Bring the load up to date with the storage (and the engine config, when it
        came from a file); the event, or ``None`` when nothing an observer would care
        about changed.

        :param keep_last_good: hot reload's rule (see the module docstring).
        :param files: the files known to have changed, for the event.
        :param full: assemble everything again (the engine config changed).
        """
        session = self.session
        old = session.current
        if session.settings_from_file:
            changed = session.read_settings_again()
            if full and not changed:
                session.reset()
            full = full or changed
        elif full:
            session.reset()
        cache = session.cache
        try:
            with gc_paused():
                reader = session.layer_reader()
                snapshot = reader.snapshot()
                if (
                    old is not None
                    and not old.from_cache
                    and snapshot.fingerprint == old.fingerprint
                ):
                    return None
                layers = reader.layers(snapshot)
                kept: set[str] = set()
                if keep_last_good and old is not None:
                    layers, kept = keep_parsable_layers(layers, old.layers)
                assembler = session.assembler
                partial = assembler.assemble_changed(old, layers) if old and not full else None
                state = partial or assembler.assemble(layers)
                state.fingerprint = snapshot.fingerprint
                # A reload does not write the load into the cache: it reuses template
                # objects this engine has handed out (and a hot reload may hold last
                # good versions), which a caller may have changed; a new process then
                # loads from the files and the cache of parsed files, and stores that.
                if keep_last_good:
                    keep_last_good_templates(old, state, stale_layers=kept)
                event = change_event(old, state, files=files or reader.changed, full_reload=full)
        finally:
            if cache is not None:
                cache.close()
        session.current = state
        if old is None or not something_happened(event, old, state):
            return None
        self.emit(event)
        return event

    def prepare(self) -> None:
        """Have the layers in memory (a load from the cache has none) before watching."""
        session = self.session
        if session.current is None or session.current.from_cache:
            session.current = session.load(from_cache=False)

    def apply(self, files: Sequence[str], *, full: bool) -> ChangeEvent | None:
        """One settled batch of changes, applied with the last good state kept; ``None``
        if it changed nothing.

        An engine config that no longer loads is reported as an error event and the
        last good state stays in service.
        """
        try:
            return self.reload(keep_last_good=True, files=files, full=full)
        except ConfigurationError as e:
            file, line, column = (e.context.get(k) for k in ("file", "line", "column"))
            where = f"{file}:{line}:{column}: " if line else f"{file}: "
            issue = issue_from_context("config-error", e.message.removeprefix(where), e.context)
            event = ChangeEvent(issues=[issue], files=list(files), full_reload=True)
            self.emit(event)
            return event


def keep_parsable_layers(
    layers: list[RawLayer], previous: dict[str, RawLayer]
) -> tuple[list[RawLayer], set[str]]:
    """Replace each layer that lost all its templates to an error (a syntax error in
    the middle of an edit) by its previous templates, with the new issues.

    Returns the layers to assemble and the locations of the layers so kept.
    """
    out: list[RawLayer] = []
    kept: set[str] = set()
    for layer in layers:
        before = previous.get(layer.source.location)
        broken = not layer.templates and any(i.severity is Severity.ERROR for i in layer.issues)
        if broken and before is not None and before.templates:
            out.append(RawLayer(layer.source, before.templates, layer.issues))
            kept.add(layer.source.location)
        else:
            out.append(layer)
    return out, kept


def keep_last_good_templates(
    old: EngineState | None, new: EngineState, *, stale_layers: Iterable[str] = ()
) -> None:
    """Serve, in ``new``, the last good version of each template that was valid in
    ``old`` and is invalid now, and mark stale those and every template defined in a
    layer kept by :func:`keep_parsable_layers` (``stale_layers``)."""
    old_templates = old.templates if old is not None else {}
    stale_layers = set(stale_layers)
    invalid: dict[str, list[str]] = {}
    for template_id, instance, issues, _features in new.verdicts:
        if issues and any(issue.severity is Severity.ERROR for issue in issues):
            invalid.setdefault(instance.name, []).append(template_id)
    for name in dict.fromkeys([*new.templates, *old_templates]):
        before = old_templates.get(name, {})
        after = new.templates.get(name, {})
        stale: set[str] = set()
        kept = {tid: before[tid] for tid in invalid.get(name, ()) if tid in before}
        if kept:
            after = _in_result_order(new, name, after, kept)
            new.templates[name] = after
            stale.update(kept)
        if stale_layers:
            stale.update(tid for tid in after if _defined_in(new, name, tid, stale_layers))
        if stale:
            new.stale[name] = stale


def _in_result_order(
    state: EngineState, name: str, valid: dict[str, TemplateDTO], kept: dict[str, TemplateDTO]
) -> dict[str, TemplateDTO]:
    """Valid and kept templates of one instance, in the order the load validated them."""
    out: dict[str, TemplateDTO] = {}
    for tid, instance, _issues, _features in state.verdicts:
        if instance.name != name:
            continue
        if tid in valid:
            out[tid] = valid[tid]
        elif tid in kept:
            out[tid] = kept[tid]
    return out


def _defined_in(state: EngineState, name: str, tid: str, locations: set[str]) -> bool:
    return any(version.layer.file in locations for version in state.versions.get((name, tid), ()))
