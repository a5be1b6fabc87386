"""The plugins' rules: ``templar_validate_templates`` once for the valid templates of
one provider instance, ``templar_validate_template`` for each, and what they return
made into located issues (:class:`templar.validate.Validator` calls them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from templar.locate import FieldPath
from templar.merge import TemplateVersion
from templar.models import Severity, TemplateDTO, ValidationIssueDTO
from templar.plugins import PluginHost
from templar.providers import ProviderSpec
from templar.state import ProviderInstance

#: ``locate(code, message, path, severity, instance, template_id, versions, at_value)``:
#: an issue about ``path`` of one template, located in the layer whose value won
Locate = Callable[
    [str, str, FieldPath, Severity, ProviderInstance, str, list[TemplateVersion], bool],
    ValidationIssueDTO,
]


@dataclass
class Checked:
    """One template after the pydantic models, before the plugins' rules."""

    template_id: str
    versions: list[TemplateVersion]
    issues: list[ValidationIssueDTO]
    #: the DTO, ``None`` when the models refused it (the plugins then do not see it)
    dto: TemplateDTO | None
    #: the validated configuration model handed to the plugins (``configuration=``)
    model: BaseModel | None


class PluginRules:
    """Runs the plugins' validation hooks for one engine.

    :param plugins: the plugin host whose hooks run.
    :param locate: locates the issues found (:meth:`templar.validate.Validator.issue`).
    """

    def __init__(self, plugins: PluginHost, locate: Locate) -> None:
        self.plugins = plugins
        self.locate = locate

    def __repr__(self) -> str:
        return f"<PluginRules {self.plugins!r}>"

    def batch_checks(
        self, batch: list[Checked], spec: ProviderSpec, instance: ProviderInstance
    ) -> None:
        """Every plugin's ``templar_validate_templates`` on the templates of ``batch``,
        adding what they find to each one's issues. When one raises, the batch is
        checked again one template at a time, so that its ``plugin-error`` lands on the
        templates it raised for, as with ``templar_validate_template``."""
        hook = "templar_validate_templates"
        call = self.plugins.call(
            hook,
            templates=[c.dto for c in batch],
            provider=spec,
            instance=instance.name,
            configurations=[c.model for c in batch],
        )
        if call.failures and len(batch) > 1:
            for one in batch:
                self.batch_checks([one], spec, instance)
            return
        owners = {id(found): plugin for plugin, found in call.returned}
        for found in call.result or ():
            plugin = owners.get(id(found), "a hook wrapper")
            if isinstance(found, (str, bytes)) or not isinstance(found, Sequence):
                self.plugins.fail(plugin, f"returned {found!r:.200} from {hook}, not a list")
                continue
            if len(found) != len(batch):
                self.plugins.fail(
                    plugin, f"returned {len(found)} entries from {hook} for {len(batch)} templates"
                )
                continue
            for checked, issues in zip(batch, found, strict=True):
                for issue in issues or ():
                    self._add_plugin_issue(plugin, hook, issue, instance, checked)
        for plugin, error in call.failures:
            (checked,) = batch
            checked.issues.append(self._plugin_error(plugin, hook, error, instance, checked))

    def _add_plugin_issue(
        self, plugin: str, hook: str, issue: Any, instance: ProviderInstance, checked: Checked
    ) -> None:
        """One issue a plugin returned, located at the layer that set its field."""
        if not isinstance(issue, ValidationIssueDTO):
            self.plugins.fail(plugin, f"returned {issue!r} from {hook}")
            return
        path = tuple(issue.field.split(".")) if issue.field else ()
        located = self.locate(
            issue.code,
            issue.message,
            path,
            issue.severity,
            instance,
            checked.template_id,
            checked.versions,
            True,  # at the value
        )
        checked.issues.append(located.model_copy(update={"field": issue.field}))

    def _plugin_error(
        self,
        plugin: str,
        hook: str,
        error: Exception,
        instance: ProviderInstance,
        checked: Checked,
    ) -> ValidationIssueDTO:
        return self.locate(
            "plugin-error",
            f"plugin '{plugin}' raised in {hook}: {type(error).__name__}: {error}",
            (),
            Severity.ERROR,
            instance,
            checked.template_id,
            checked.versions,
            False,
        )

    def template_checks(
        self, checked: Checked, spec: ProviderSpec, instance: ProviderInstance
    ) -> list[str]:
        """Run every plugin's ``templar_validate_template`` on ``checked.dto``, adding
        what they find to its issues (located at the layer that set each field); returns
        the template's supported features."""
        dto = checked.dto
        assert dto is not None
        if not self.plugins.has_implementations("templar_validate_template"):
            return spec.features_for(dto) if spec.supported_features else []
        call = self.plugins.call(
            "templar_validate_template",
            template=dto,
            provider=spec,
            instance=instance.name,
            configuration=checked.model,
        )
        # what pluggy returned (a wrapper may have changed it), each list traced back to
        # the plugin that returned it
        hook = "templar_validate_template"
        owners = {id(found): plugin for plugin, found in call.returned}
        for found in call.result or ():
            plugin = owners.get(id(found), "a hook wrapper")
            for issue in found or ():
                self._add_plugin_issue(plugin, hook, issue, instance, checked)
        for plugin, error in call.failures:
            checked.issues.append(self._plugin_error(plugin, hook, error, instance, checked))
        try:
            return spec.features_for(dto)
        except Exception as e:
            self.plugins.fail(spec.name, "raised computing supported features", e)
            return []
