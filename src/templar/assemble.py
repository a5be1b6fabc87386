"""Assembly: a whole load from the layers read, and the incremental one after an edit.

:meth:`Assembler.assemble` runs the stages in order: discovery of the instances,
the ambiguity check, then per instance the hierarchy's versions of each template and
their validation. :meth:`Assembler.assemble_changed` gives the same result from the
previous state, merging and validating only the templates an edit touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from templar.discover import (
    check_ambiguous,
    check_lookalike_ids,
    discover_instances,
    report_unknown_type,
)
from templar.hierarchy import Hierarchy, group_layers
from templar.locate import Locator, located_issue
from templar.models import Severity, TemplateDTO, ValidationIssueDTO
from templar.plugins import PluginHost
from templar.providers import ProviderSpec
from templar.state import EngineState
from templar.storage import RawLayer, RawTemplate
from templar.validate import Validator

if TYPE_CHECKING:
    from templar.settings import EngineSettings


class Assembler:
    """Assembles the loads of one engine, remembering what it computed so that the next
    assembly redoes only what changed.

    :param settings: the engine settings.
    :param settings_file: where they were read from, if from a file.
    :param plugins: the engine's plugin host.
    :param locator: locates every issue found.
    :param config_dir: named by the warning of a load that found no layer.
    """

    def __init__(
        self,
        settings: EngineSettings,
        settings_file: Path | None,
        plugins: PluginHost,
        locator: Locator,
        config_dir: Path,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self.locator = locator
        self.config_dir = config_dir
        self.hierarchy = Hierarchy(settings, settings_file, locator)
        self.validator = Validator(settings.merge, plugins, locator)

    def __repr__(self) -> str:
        return f"<Assembler {self.config_dir}>"

    @property
    def providers(self) -> Mapping[str, ProviderSpec]:
        """The registered provider types, by name."""
        return {name: entry.spec for name, entry in self.plugins.providers.items()}

    def assemble(self, layers: Sequence[RawLayer]) -> EngineState:
        """A whole load of ``layers``."""
        state = EngineState()
        # what the previous assembly computed is looked up as "previous"; this one's is
        # filed as "current", so entries of templates gone are dropped
        self.hierarchy.roll()
        self.validator.verdicts.roll()
        state.layers = {layer.source.location: layer for layer in layers}
        for layer in layers:
            state.file_issues.extend(layer.issues)
        if not layers:
            expected = "templates.yaml, {type}prov_templates.yaml"
            if self.settings.orb is not None:  # name the files ORB itself would read
                expected = ", ".join(self.settings.orb.template_file_names())
            state.file_issues.append(
                located_issue(
                    "no-templates",
                    f"no template files found in {self.config_dir} (expected names "
                    f"such as {expected}; see the user guide)",
                    severity=Severity.WARNING,
                    file=str(self.config_dir),
                )
            )
        providers = self.providers
        declared = bool(self.settings.providers)
        orb = self.settings.orb
        state.instances = discover_instances(
            layers, self.settings.providers, providers, self.locator, state.file_issues, orb
        )
        by_kind = group_layers(layers)
        check_ambiguous(by_kind, self.locator, state.file_issues)
        check_lookalike_ids(layers, self.locator, state.file_issues)

        for instance in state.instances:
            spec = providers.get(instance.type)
            if spec is None:
                report_unknown_type(
                    instance,
                    by_kind,
                    providers,
                    self.locator,
                    state.file_issues,
                    declared=declared,
                    orb=orb,
                )
                continue
            versions = self.hierarchy.collect_versions(instance, spec, by_kind, state.file_issues)
            templates: dict[str, TemplateDTO] = {}
            for template_id, template_versions in versions.items():
                state.versions[(instance.name, template_id)] = template_versions
            # one instance's templates together: the plugins' batch hook is called once
            for dto, verdict in self.validator.validated_many(
                instance, spec, list(versions.items())
            ):
                state.verdicts.append(verdict)
                if dto is not None:
                    templates[verdict[0]] = dto
            state.templates[instance.name] = templates
        return state

    def assemble_changed(self, old: EngineState, layers: Sequence[RawLayer]) -> EngineState | None:
        """What :meth:`assemble` would make of ``layers``, computed from ``old`` by
        merging and validating only the templates that changed; ``None`` when the
        change is more than edited values (a file or a template appeared, vanished or
        moved, a provider type changed, an issue is attached to a changed file).

        This is the hot-reload path: an edit in a 10,000-template config touches a
        handful of templates, and walking all of them would cost more than the edit.
        """
        if old.from_cache or list(old.layers) != [layer.source.location for layer in layers]:
            return None
        changed = [
            (old.layers[layer.source.location], layer)
            for layer in layers
            if layer is not old.layers[layer.source.location]
        ]
        touched = {after.source.location for _, after in changed}
        if any(issue.file in touched for issue in old.file_issues):
            return None
        affected: set[str] = set()
        for before, after in changed:
            if after.issues or [_placement(t) for t in before.templates] != [
                _placement(t) for t in after.templates
            ]:
                return None
            affected.update(
                t.template_id
                for b, t in zip(before.templates, after.templates, strict=True)
                if b is not t
            )
        # issues carry line numbers, which an edit may have moved: validate again
        affected.update(
            tid
            for tid, _, issues, _ in old.verdicts
            if issues and any(issue.file in touched for issue in issues)
        )
        by_kind = group_layers(layers)
        if any(len(by_kind[(a.source.kind, a.source.scope)]) > 1 for _, a in changed):
            return None  # one id in two files of a layer: the ambiguity check decides

        self.hierarchy.forget(
            [
                b
                for before, after in changed
                for b, t in zip(before.templates, after.templates, strict=True)
                if b is not t
            ]
        )
        state = EngineState(instances=old.instances, file_issues=list(old.file_issues))
        state.layers = {layer.source.location: layer for layer in layers}
        state.versions = dict(old.versions)
        state.verdicts = list(old.verdicts)
        state.templates = {  # what a full assembly serves: no last good version kept
            name: {t: d for t, d in ts.items() if t not in old.stale[name]}
            if old.stale.get(name)
            else dict(ts)
            for name, ts in old.templates.items()
        }
        if not affected:
            return state
        position = {
            (instance.name, tid): n
            for n, (tid, instance, _, _) in enumerate(old.verdicts)
            if tid in affected
        }
        scratch: list[ValidationIssueDTO] = []
        providers = self.providers
        for instance in state.instances:
            spec = providers.get(instance.type)
            if spec is None:
                continue
            fresh = self.hierarchy.collect_versions(instance, spec, by_kind, scratch, only=affected)
            if scratch:
                return None
            templates = state.templates.setdefault(instance.name, {})
            reorder = False
            for tid, versions in fresh.items():
                key = (instance.name, tid)
                if key not in position:
                    return None
                state.versions[key] = versions
                dto, verdict = self.validator.validated(instance, spec, tid, versions)
                state.verdicts[position[key]] = verdict
                if dto is not None and tid in templates:
                    templates[tid] = dto
                else:
                    reorder = True  # valid before or after, not both: rebuild in order
                    templates.pop(tid, None)
                    if dto is not None:
                        templates[tid] = dto
            if reorder:
                order = [tid for tid, i, _, _ in state.verdicts if i.name == instance.name]
                state.templates[instance.name] = {
                    tid: templates[tid] for tid in order if tid in templates
                }
        return state


def _placement(template: RawTemplate) -> tuple[str, str | None, Any]:
    """What decides which instances take a template: a change of it is a full
    assembly, where discovery reports a template no instance takes."""
    body = template.body
    return (
        template.template_id,
        template.provider_type,
        body.get("provider_name", body.get("providerName")),
    )
