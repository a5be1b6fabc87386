"""Validation: one merged template into a :class:`~templar.models.TemplateDTO` and its
issues, then the plugins' rules (:mod:`templar.rules`).

The versions of a template (:mod:`templar.hierarchy`) are merged, the provider's
configuration model and the core DTO validate the result, and every plugin's
``templar_validate_template`` gets the validated DTO. Problems become located issues:
each points at the layer that set the field (the winning version), at the key when it
is unknown or missing, at the value when it is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from templar.errors import did_you_mean
from templar.locate import FieldPath, FieldProblem, Locator, field_problems
from templar.merge import TemplateVersion, merge_versions, winning_version
from templar.models import CORE_FIELDS, Severity, TemplateDTO, ValidationIssueDTO
from templar.plugins import PluginHost
from templar.providers import GenericConfiguration, ProviderSpec
from templar.rules import Checked, PluginRules
from templar.state import ProviderInstance, RollingMemo, Verdict

#: templates handed to ``templar_validate_templates`` in one call, at most
BATCH_SIZE = 500
#: what validating one template gives: the DTO (``None`` if invalid) and the verdict
Validated = tuple[TemplateDTO | None, Verdict]


class Validator:
    """Validates templates for one engine, and remembers which it validated without an
    issue so that an unchanged template is not validated again.

    :param merge: the engine's merge mode (``deep`` or ``replace``).
    :param plugins: the plugin host whose rules run.
    :param locator: locates the issues.
    """

    def __init__(self, merge: str, plugins: PluginHost, locator: Locator) -> None:
        self.merge = merge
        self.plugins = plugins
        self.locator = locator
        self.rules = PluginRules(plugins, self.issue)
        self.verdicts: RollingMemo[tuple[str, str], tuple[list[TemplateVersion], Validated]] = (
            RollingMemo()
        )

    def __repr__(self) -> str:
        return f"<Validator merge={self.merge} {self.verdicts!r}>"

    def validated(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        template_id: str,
        versions: list[TemplateVersion],
    ) -> Validated:
        """:meth:`validate`, skipped when the versions are the very objects validated
        last time without any issue (issues carry line numbers, which may have moved)."""
        return self.validated_many(instance, spec, [(template_id, versions)])[0]

    def validated_many(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        items: Sequence[tuple[str, list[TemplateVersion]]],
    ) -> list[Validated]:
        """:meth:`validated` for each (template id, versions) of one instance, the plugin
        rules called once for all (:meth:`validate_many`)."""
        results: list[Validated | None] = []
        fresh: list[tuple[int, str, list[TemplateVersion]]] = []
        previous = self.verdicts.previous
        for n, (template_id, versions) in enumerate(items):
            known = previous.get((instance.name, template_id))
            if (
                known is not None
                and not known[1][1][2]
                and len(known[0]) == len(versions)
                and all(a is b for a, b in zip(known[0], versions, strict=True))
            ):
                results.append(known[1])
            else:
                results.append(None)
                fresh.append((n, template_id, versions))
        if fresh:
            done = self.validate_many(instance, spec, [(tid, v) for _, tid, v in fresh])
            for (n, _, _), result in zip(fresh, done, strict=True):
                results[n] = result
        out: list[Validated] = []
        for (template_id, versions), found in zip(items, results, strict=True):
            assert found is not None
            self.verdicts.put((instance.name, template_id), (versions, found))
            out.append(found)
        return out

    def validate(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        template_id: str,
        versions: list[TemplateVersion],
    ) -> Validated:
        """Merge ``versions`` and validate the result; never raises for bad content."""
        return self.validate_many(instance, spec, [(template_id, versions)])[0]

    def validate_many(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        items: Sequence[tuple[str, list[TemplateVersion]]],
    ) -> list[Validated]:
        """:meth:`validate` for each (template id, versions) of one instance: the
        plugins' ``templar_validate_templates`` is called once per :data:`BATCH_SIZE`
        of them, and ``templar_validate_template`` (when a plugin implements it) once
        for each."""
        out: list[Validated] = []
        # in batches: the validated models wait for the batch hook, and 10,000 of them
        # alive at once would be the biggest thing in memory
        for start in range(0, len(items), BATCH_SIZE):
            checked = [
                self._check(instance, spec, tid, versions)
                for tid, versions in items[start : start + BATCH_SIZE]
            ]
            valid = [c for c in checked if c.dto is not None]
            if valid and self.plugins.has_implementations("templar_validate_templates"):
                self.rules.batch_checks(valid, spec, instance)
            for c in checked:
                features: list[str] = []
                if c.dto is not None:
                    features = self.rules.template_checks(c, spec, instance)
                dto = c.dto
                if any(i.severity is Severity.ERROR for i in c.issues):
                    dto = None
                out.append((dto, (c.template_id, instance, c.issues, features)))
        return out

    def _check(
        self,
        instance: ProviderInstance,
        spec: ProviderSpec,
        template_id: str,
        versions: list[TemplateVersion],
    ) -> Checked:
        """Merge ``versions`` and validate the result with the pydantic models."""
        merged = merge_versions(versions, self.merge)
        issues: list[ValidationIssueDTO] = []

        def add(
            code: str,
            message: str,
            path: FieldPath,
            severity: Severity = Severity.ERROR,
            at_value: bool = False,
        ) -> None:
            issues.append(
                self.issue(code, message, path, severity, instance, template_id, versions, at_value)
            )

        def add_problems(problems: Sequence[FieldProblem]) -> None:
            for problem in problems:
                add(problem.code, problem.message, problem.path, Severity.ERROR, problem.at_value)

        for version in versions:
            source = version.layer.source
            if version.merge not in (None, "deep", "replace") and source:
                issues.append(
                    self.locator.issue(
                        "invalid-merge",
                        f"_merge must be 'deep' or 'replace', not {version.merge!r}"
                        f"{did_you_mean(str(version.merge), ['deep', 'replace'])}; ignored",
                        source=source,
                        doc_path=(*version.doc_path, "_merge"),
                        value=True,
                        severity=Severity.WARNING,
                        template_id=template_id,
                        provider_instance=instance.name,
                        field="_merge",
                    )
                )
        near_misses = [m for v in versions for m in v.near_misses]
        # A model that forbids unknown keys reports a typo itself, as an error.
        if near_misses and spec.configuration_model.model_config.get("extra") == "forbid":
            near_misses = []
        declared = field_spellings(spec.configuration_model, spec) if near_misses else []
        for written, close in near_misses:
            if written in declared or spec.canonical_key(written) in declared:
                continue  # the provider declares it: not a typo of a core field
            add(
                "unknown-key",
                f"'{written}' is not a core field and was read as configuration "
                f"(did you mean '{close}'?)",
                ("configuration", spec.canonical_key(written)),
                Severity.WARNING,
            )

        configuration: dict[str, Any] | None = merged.get("configuration", {})
        model: BaseModel | None = None  # handed to the plugin rules: validated once
        if spec.configuration_model is not GenericConfiguration:
            try:
                model = spec.configuration_model.model_validate(configuration)
                configuration = model.model_dump(mode="json", exclude_none=True)
            except ValidationError as e:

                def candidates(nested: type[BaseModel] | None, loc: FieldPath) -> list[str]:
                    names = field_spellings(nested, spec) if nested is not None else []
                    return names + list(CORE_FIELDS) if len(loc) == 1 else names

                add_problems(
                    field_problems(
                        e,
                        spec.configuration_model,
                        prefix=("configuration",),
                        candidates=candidates,
                        written=lambda path: written_key(versions, path),
                    )
                )
                configuration = None

        winner = versions[-1]  # versions run from the lowest priority to the highest file layer
        core: dict[str, Any] = {k: v for k, v in merged.items() if k != "configuration"}
        named = core.get("provider_name")
        if named not in (None, instance.name):
            add(
                "provider-name-mismatch",
                f"provider_name '{named}' is not the provider instance this layer belongs "
                f"to ('{instance.name}'); the instance name is used",
                ("provider_name",),
                Severity.WARNING,
                at_value=True,
            )
        core["provider_name"] = instance.name
        core["provider_type"] = instance.type
        core["template_id"] = template_id
        core["configuration"] = configuration if configuration is not None else {}
        core["source_file"] = winner.layer.file
        core["file_priority"] = int(winner.layer.kind)
        dto: TemplateDTO | None = None
        try:
            dto = TemplateDTO.model_validate(core)
        except ValidationError as e:
            add_problems(
                field_problems(
                    e,
                    TemplateDTO,
                    candidates=lambda nested, loc: list(CORE_FIELDS),
                    written=lambda path: written_key(versions, path),
                )
            )
        if configuration is None:
            dto = None
        return Checked(template_id, versions, issues, dto, model)

    def issue(
        self,
        code: str,
        message: str,
        path: FieldPath,
        severity: Severity,
        instance: ProviderInstance,
        template_id: str,
        versions: list[TemplateVersion],
        at_value: bool = False,
    ) -> ValidationIssueDTO:
        """An issue about field ``path`` of one template, located in the layer whose
        value won (the highest-priority layer for the whole template)."""
        version = winning_version(versions, path, self.merge) if path else None
        if version is None:
            version = max(versions, key=lambda v: -v.layer.kind)
        doc_path = version.doc_path_of(path) if path else version.doc_path
        return self.locator.issue(
            code,
            message,
            source=version.layer.source,
            doc_path=doc_path,
            value=at_value,
            severity=severity,
            template_id=template_id,
            provider_instance=instance.name,
            field=".".join(str(p) for p in path) if path else None,
        )


def written_key(versions: Sequence[TemplateVersion], path: FieldPath) -> str:
    """The key of ``path`` as a file wrote it (``maxNumbr``, not ``max_numbr``)."""
    for version in sorted(versions, key=lambda v: v.layer.kind):
        if len(path) >= 2 and path[:2] in version.origins:
            return str(version.origins[path[:2]][-1]) if len(path) == 2 else str(path[-1])
    return str(path[-1])


def field_spellings(model: type[BaseModel], spec: ProviderSpec) -> list[str]:
    """Every spelling of the fields of ``model``: names, aliases, external names."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.append(name)
        if info.alias:
            names.append(info.alias)
        if spec.key_style is not None:
            names.append(spec.key_style.to_external(name))
    return names
