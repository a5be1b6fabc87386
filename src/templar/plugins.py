"""Loading plugins and keeping the registries they fill. One :class:`PluginHost` per engine.

Hooks are called the way pluggy documents (``pm.hook.NAME(**kwargs)``), so
``wrapper=True``, ``tryfirst``/``trylast`` and ``firstresult`` behave as pluggy says.
To keep one failing plugin from stopping the others, each plugin is registered as an
:class:`IsolatedPlugin`: its hook implementations (not its wrappers) are guarded, so
that an exception is recorded as that plugin's failure and pluggy goes on to the next
implementation, as if that one had returned ``None``.

Plugins come from the ``templar`` entry-point group. ``TEMPLAR_PLUGINS`` is a
comma-separated allow-list of entry-point names (empty: load none);
``TEMPLAR_STRICT_PLUGINS=1`` turns every plugin failure into a :class:`PluginError`
instead of a :class:`TemplarPluginWarning`.
"""

from __future__ import annotations

import functools
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

import pluggy
from pydantic import BaseModel, Field

from templar import hookspecs
from templar.errors import PluginError, TemplarPluginWarning, did_you_mean
from templar.providers import ProviderSpec
from templar.storage import StorageSpec

ENTRY_POINT_GROUP = "templar"
#: Modules registered in every engine, before entry points (like pytest's builtins).
DEFAULT_PLUGINS = ("templar.builtin",)


class PluginInfo(BaseModel):
    """One plugin as ``templates plugins`` shows it."""

    name: str
    version: str | None = None
    hooks: list[str] = Field(default_factory=list)
    load_time_ms: float = 0.0
    builtin: bool = False
    error: str | None = None
    registered: list[str] = Field(default_factory=list)


T = TypeVar("T")


@dataclass
class Registered(Generic[T]):
    """A registry entry: what was registered, and by which plugin."""

    spec: T
    plugin: str


@dataclass
class HookCall:
    """One call of a hook through :meth:`PluginHost.call`."""

    hook_name: str
    #: what pluggy returned (a list of results; one result for a firstresult hook)
    result: Any = None
    #: (plugin, what it returned), in the order pluggy called them
    returned: list[tuple[str, Any]] = field(default_factory=list)
    #: (plugin, exception) of every implementation that raised
    failures: list[tuple[str, Exception]] = field(default_factory=list)
    #: the plugins whose implementation runs now (innermost last)
    plugins: list[str] = field(default_factory=list)


class IsolatedPlugin:
    """A plugin as registered on pluggy: the same hook implementations, each guarded by
    ``guard`` (see the module docstring); wrappers are registered as they are.

    :param plugin: the plugin object or module.
    :param name: its name on the plugin manager.
    :param guard: ``guard(name, function)`` returns the guarded function.
    """

    def __init__(
        self,
        plugin: object,
        name: str,
        guard: Callable[[str, Callable[..., Any]], Callable[..., Any]],
    ) -> None:
        #: what the cache's plugin fingerprint looks at: the plugin's own module
        self.__name__ = getattr(plugin, "__name__", None) or type(plugin).__module__
        self.plugin = plugin
        for attribute in dir(plugin):
            function = getattr(plugin, attribute, None)
            options = getattr(function, f"{ENTRY_POINT_GROUP}_impl", None)
            if not callable(function) or not isinstance(options, dict):
                continue
            if options.get("wrapper") or options.get("hookwrapper"):
                setattr(self, attribute, function)  # wrappers run as pluggy documents
            else:
                setattr(self, attribute, guard(name, function))

    def __repr__(self) -> str:
        return f"<IsolatedPlugin {self.plugin!r}>"


@dataclass
class PluginHost:
    """A pluggy plugin manager and the registries its plugins fill.

    Each :class:`templar.TemplateEngine` owns one, so two engines in one process never
    see each other's plugins.
    """

    load_entrypoints: bool = True
    extra_plugins: Sequence[object] = ()
    pm: pluggy.PluginManager = field(init=False)
    infos: dict[str, PluginInfo] = field(init=False, default_factory=dict)
    _providers: dict[str, Registered[ProviderSpec]] | None = field(init=False, default=None)
    _storages: dict[str, Registered[StorageSpec]] | None = field(init=False, default=None)
    #: per thread, the hook calls under way (what the guards report to)
    _local: threading.local = field(init=False, default_factory=threading.local)

    def __post_init__(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        import importlib

        for module_name in DEFAULT_PLUGINS:
            start = time.perf_counter()
            module = importlib.import_module(module_name)
            self._add(module, module_name, start, version=None, builtin=True)
        if self.load_entrypoints:
            self._load_entrypoints()
        for plugin in self.extra_plugins:
            self.register(plugin)

    @property
    def strict(self) -> bool:
        """``TEMPLAR_STRICT_PLUGINS`` is set to a true value."""
        return os.environ.get("TEMPLAR_STRICT_PLUGINS", "").lower() in {"1", "true", "yes", "on"}

    def fail(
        self,
        plugin: str,
        message: str,
        error: BaseException | None = None,
        *,
        outcome: str = "skipped",
    ) -> None:
        """Record a plugin failure: a warning, or a :class:`PluginError` in strict mode.

        ``outcome`` says what became of it: the plugin ``skipped``, or one registration
        ``ignored``.
        """
        text = f"plugin '{plugin}' {message}"
        if error is not None:
            text += f": {type(error).__name__}: {error}"
        info = self.infos.setdefault(plugin, PluginInfo(name=plugin))
        info.error = text if info.error is None else f"{info.error}; {text}"
        if self.strict:
            raise PluginError(text, plugin=plugin) from error
        warnings.warn(f"templar: {text} ({outcome})", TemplarPluginWarning, stacklevel=3)

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object or module on this host; returns its name."""
        start = time.perf_counter()
        plugin_name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        return self._add(plugin, plugin_name, start, version=None, builtin=False)

    def unregister(self, name: str) -> None:
        """Remove a plugin registered under ``name``."""
        self.pm.unregister(name=name)
        self.infos.pop(name, None)
        self._providers = self._storages = None

    def _add(
        self, plugin: object, name: str, start: float, *, version: str | None, builtin: bool
    ) -> str:
        isolated = IsolatedPlugin(plugin, name, self._guard)
        try:
            self.pm.register(isolated, name=name)
        except Exception as e:
            self.fail(name, "could not be registered", e)
            return name
        hooks = [h.name for h in self.pm.get_hookcallers(isolated) or []]
        self.infos[name] = PluginInfo(
            name=name,
            version=version,
            hooks=sorted(hooks),
            load_time_ms=round((time.perf_counter() - start) * 1000, 3),
            builtin=builtin,
        )
        self._providers = self._storages = None
        return name

    def _load_entrypoints(self) -> None:
        allow = os.environ.get("TEMPLAR_PLUGINS")
        allowed = None if allow is None else {n.strip() for n in allow.split(",") if n.strip()}
        installed = metadata.entry_points(group=ENTRY_POINT_GROUP)
        if allowed:
            self._warn_not_installed(allowed, {ep.name for ep in installed})
        for ep in installed:
            if allowed is not None and ep.name not in allowed:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            start = time.perf_counter()
            try:
                plugin = ep.load()
            except Exception as e:
                self.fail(ep.name, f"failed to import ({ep.value})", e)
                continue
            version = ep.dist.version if ep.dist is not None else None
            self._add(plugin, ep.name, start, version=version, builtin=False)

    def _warn_not_installed(self, allowed: set[str], installed: set[str]) -> None:
        """A ``TEMPLAR_PLUGINS`` name no installed plugin has: a typo, or a missing install."""
        for name in sorted(allowed - installed):
            self.fail(
                name,
                f"is named in TEMPLAR_PLUGINS but not installed{did_you_mean(name, installed)}; "
                f"installed: {', '.join(sorted(installed)) or 'none'}",
                outcome="ignored",
            )

    def has_implementations(self, hook_name: str) -> bool:
        """Whether any registered plugin implements ``hook_name``."""
        return bool(getattr(self.pm.hook, hook_name).get_hookimpls())

    def call(self, hook_name: str, **kwargs: Any) -> HookCall:
        """Call a hook through pluggy (``pm.hook.NAME(**kwargs)``); the result, what each
        plugin returned and which plugins raised. A raising wrapper fails the call: it
        is reported as a failure of every plugin that wraps the hook."""
        calls: list[HookCall] = self._calls()
        record = HookCall(hook_name)
        calls.append(record)
        try:
            record.result = getattr(self.pm.hook, hook_name)(**kwargs)
        except PluginError:
            raise
        except Exception as e:
            wrappers = [
                impl.plugin_name
                for impl in getattr(self.pm.hook, hook_name).get_hookimpls()
                if impl.wrapper or impl.hookwrapper
            ]
            record.failures.append((", ".join(wrappers) or "?", e))
        finally:
            calls.pop()
        return record

    def call_each(
        self,
        hook_name: str,
        errors: list[tuple[str, Exception]] | None = None,
        **kwargs: Any,
    ) -> Iterator[tuple[str, Any]]:
        """Call a hook (see :meth:`call`); yields (plugin name, what it returned) for every
        implementation that did not raise. An exception is a plugin failure, or, when
        ``errors`` is given, appended to it as (plugin name, exception) instead."""
        record = self.call(hook_name, **kwargs)
        for plugin, error in record.failures:
            if errors is None:
                self.fail(plugin, f"raised in {hook_name}", error)
            else:
                errors.append((plugin, error))
        yield from record.returned

    def _calls(self) -> list[HookCall]:
        calls: list[HookCall] | None = getattr(self._local, "calls", None)
        if calls is None:
            calls = self._local.calls = []
        return calls

    def _guard(self, plugin: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` (one hook implementation of ``plugin``), reporting to the hook
        call under way: what it returned, or the exception it raised instead of it."""

        @functools.wraps(function)  # keeps pluggy's marker and the argument names
        def guarded(*args: Any, **kwargs: Any) -> Any:
            calls = self._calls()
            record = calls[-1] if calls else None
            if record is not None:
                record.plugins.append(plugin)
            try:
                result = function(*args, **kwargs)
            except PluginError:
                raise
            except Exception as e:
                if record is None:  # called outside the host: still a reported failure
                    self.fail(plugin, "raised in a hook", e)
                else:
                    record.failures.append((plugin, e))
                return None  # pluggy goes on to the next implementation
            finally:
                if record is not None:
                    record.plugins.pop()
            if record is not None:
                record.returned.append((plugin, result))
            return result

        return guarded

    @property
    def providers(self) -> dict[str, Registered[ProviderSpec]]:
        """Provider types by name, with the plugin that registered each."""
        if self._providers is None:
            self._providers = self._collect("templar_register_providers", ProviderSpec)
        return self._providers

    @property
    def storages(self) -> dict[str, Registered[StorageSpec]]:
        """Storage backends by name, with the plugin that registered each."""
        if self._storages is None:
            self._storages = self._collect("templar_register_storage", StorageSpec)
        return self._storages

    def _collect(self, hook_name: str, kind: type[T]) -> dict[str, Registered[T]]:
        registry: dict[str, Registered[T]] = {}
        calling: list[str] = []
        offered: dict[str, list[Any]] = {}

        def offer(spec: T) -> None:
            offered.setdefault(calling[-1] if calling else "?", []).append(spec)

        def register(plugin: str, spec: T) -> None:
            if not isinstance(spec, kind):
                self.fail(
                    plugin,
                    f"registered {spec!r}, which is not a {kind.__name__}",
                    outcome="ignored",
                )
                return
            name: str = getattr(spec, "name")  # noqa: B009
            if name in registry:
                self.fail(
                    plugin,
                    f"registered {kind.__name__} '{name}', already registered by "
                    f"'{registry[name].plugin}'",
                    outcome="ignored",
                )
                return
            registry[name] = Registered(spec, plugin)
            info = self.infos.get(plugin)
            if info is not None and name not in info.registered:
                info.registered.append(name)

        record = HookCall(hook_name, plugins=calling)
        calls = self._calls()
        calls.append(record)
        caller = getattr(self.pm.hook, hook_name)
        try:
            caller(register=offer)
        finally:
            calls.pop()
        failed = {plugin for plugin, _ in record.failures}
        for plugin, error in record.failures:
            self.fail(plugin, f"raised in {hook_name}", error)
            self._skip(plugin)  # skipped means skipped: none of its registrations or hooks
        # Clashes are settled in registration order, whatever order pluggy called the
        # plugins in: the built-in plugin, registered first, keeps its names.
        order = [impl.plugin_name for impl in caller.get_hookimpls()]
        order += [plugin for plugin in offered if plugin not in order]
        for plugin in order:
            if plugin in failed:
                continue
            for spec in offered.get(plugin, ()):
                register(plugin, spec)
        return registry

    def _skip(self, plugin: str) -> None:
        """Take a failed plugin out of the plugin manager, keeping its failure on record."""
        if self.pm.has_plugin(plugin):
            self.pm.unregister(name=plugin)
        if plugin in self.infos:
            self.infos[plugin].registered.clear()
        self._providers = self._storages = None

    def signature(self) -> list[tuple[str, str | None]]:
        """Names and versions of the loaded plugins, for cache keys."""
        return sorted((i.name, i.version) for i in self.infos.values() if i.error is None)

    def plugin_infos(self) -> list[PluginInfo]:
        """Every plugin this host tried to load, failures included."""
        _ = self.providers, self.storages  # registering fills ``registered``
        return sorted(self.infos.values(), key=lambda i: (not i.builtin, i.name))
