"""Every hook a Templar plugin can implement.

Implement a hook with the :data:`templar.hookimpl` marker on a function of the same
name in a module (or object) registered through the ``templar`` entry-point group::

    from templar import ProviderSpec, hookimpl

    @hookimpl
    def templar_register_providers(register):
        register(ProviderSpec(name="acme", configuration_model=AcmeConfig))

The built-in file storage and ``generic`` provider are registered through these same
hooks (:mod:`templar.builtin`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import click
    from pydantic import BaseModel

    from templar.models import ChangeEvent, TemplateDTO, ValidationIssueDTO, ValidationReport
    from templar.providers import ProviderSpec
    from templar.storage import StorageSpec

hookspec = pluggy.HookspecMarker("templar")
hookimpl = pluggy.HookimplMarker("templar")


class EngineView(Protocol):
    """What a hook may read of the engine it runs in (a :class:`templar.TemplateEngine`):
    its templates and their validation, never its machinery."""

    @property
    def config_dir(self) -> Path:
        """The config directory."""
        ...

    def list_templates(
        self,
        provider: str | None = None,
        provider_type: str | None = None,
        active_only: bool = True,
    ) -> list[TemplateDTO]:
        """Every valid effective template (see :meth:`templar.TemplateEngine.list_templates`)."""
        ...

    def get_template(self, template_id: str, provider: str | None = None) -> TemplateDTO | None:
        """One template by id, or ``None``."""
        ...

    def validate(self) -> ValidationReport:
        """Validation results of every template and every file."""
        ...

    def stale_templates(self) -> dict[str, list[str]]:
        """Template ids served from their last good version, per instance."""
        ...


@hookspec
def templar_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register provider types.

    Call ``register(ProviderSpec(...))`` once per provider type. The engine records
    which plugin registered which type; when two plugins register the same name the
    first wins and the second is reported as a plugin failure.

    :param register: the callback that takes a :class:`templar.ProviderSpec`.

    The return value is ignored.
    """


@hookspec
def templar_register_storage(register: Callable[[StorageSpec], None]) -> None:
    """Register storage backends.

    Call ``register(StorageSpec(name, factory))``; ``factory(config_dir, settings)``
    returns an object following :class:`templar.storage.StorageBackend`. The engine
    config selects one with ``storage: {backend: NAME}``. Name clashes are handled as
    for :func:`templar_register_providers`.

    :param register: the callback that takes a :class:`templar.storage.StorageSpec`.

    The return value is ignored.
    """


@hookspec
def templar_validate_template(
    template: TemplateDTO, provider: ProviderSpec, instance: str, configuration: BaseModel | None
) -> list[ValidationIssueDTO] | None:
    """Check one effective template beyond what its pydantic models check.

    Called for every template whose core fields and ``configuration`` validated, in
    every plugin, for every provider type: compare ``provider.name`` (or
    ``template.provider_type``) to act only on your own. Use stable ``code`` values
    and set ``field`` (dotted, for example ``configuration.iops``); the engine fills
    in ``template_id``, ``provider_instance``, ``file``, ``line`` and ``column`` from
    the layer that set the field.

    :param template: the validated template (``configuration`` in snake_case).
    :param provider: the :class:`templar.ProviderSpec` of its provider type.
    :param instance: the provider instance name.
    :param configuration: ``template.configuration`` as the validated instance of
        ``provider.configuration_model`` (``None`` for a provider without one): use it
        rather than validating the configuration again.

    Return a list of :class:`templar.ValidationIssueDTO`, or ``None`` for no issue. An
    exception raised here becomes a ``plugin-error`` issue naming the plugin.
    """


@hookspec
def templar_validate_templates(
    templates: Sequence[TemplateDTO],
    provider: ProviderSpec,
    instance: str,
    configurations: Sequence[BaseModel | None],
) -> Sequence[list[ValidationIssueDTO] | None] | None:
    """Check the effective templates of one provider instance in one call.

    This is the batch form of :func:`templar_validate_template`, with the same contract
    for each template.

    A load calls it with the templates of one provider instance whose core fields and
    ``configuration`` validated, up to 500 at a time, instead of once per template: for
    10,000 templates the per-call cost of a hook is more than a plugin's rules. Implement one
    of the two hooks for your rules, not both (each issue would be reported twice);
    issues found here come before those of ``templar_validate_template``, and a
    wrapper of one hook does not see the other's results.

    :param templates: the validated templates, in file order.
    :param provider: the :class:`templar.ProviderSpec` of their provider type.
    :param instance: the provider instance name.
    :param configurations: for each template, ``template.configuration`` as the
        validated instance of ``provider.configuration_model`` (``None`` for a provider
        without one).

    Return one entry per template, in the order given (a list of
    :class:`templar.ValidationIssueDTO`, or ``None`` for no issue), or ``None`` when no
    template has one. When an implementation raises, the engine calls the hook again
    one template at a time, so that the ``plugin-error`` issue names only the templates
    it raised for.
    """


@hookspec
def templar_on_change(event: ChangeEvent, engine: EngineView) -> None:
    """React to a reload that changed something (hot reload, ``reload()``).

    :param event: added, changed, removed and stale template ids per provider
        instance, and the validation issues the change introduced.
    :param engine: the engine that reloaded (a :class:`templar.TemplateEngine`, typed as
        the read-only :class:`EngineView`); read templates from it, do not reload it
        from inside this hook.

    The return value is ignored. An exception is reported as a plugin failure and
    does not stop the watcher.
    """


@hookspec
def templar_register_commands(cli: click.Group) -> None:
    """Add commands to the ``templates`` command line.

    :param cli: the ``templates`` click group; decorate functions with
        ``@cli.command()``. A name already taken by the core is refused.

    The return value is ignored.
    """


def hook_names() -> list[str]:
    """The names of every hookspec, in definition order."""
    return [
        name for name, value in globals().items() if name.startswith("templar_") and _is_spec(value)
    ]


def _is_spec(value: Any) -> bool:
    return callable(value) and hasattr(value, "templar_spec")
