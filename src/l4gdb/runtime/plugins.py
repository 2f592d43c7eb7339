"""Finding, validating and asking plugins (pluggy, entry point group ``l4gdb``)."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Any

import pluggy

from l4gdb import hookspecs
from l4gdb.errors import L4gdbError, UsageError

GROUP = "l4gdb"


class PluginError(L4gdbError):
    """A plugin could not be loaded or is invalid."""


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str
    hooks: list[str]


def _declared_hooks() -> set[str]:
    return {n for n in dir(hookspecs) if n.startswith("l4gdb_")}


def validate_plugin(name: str, plugin: Any) -> None:
    """Refuse a plugin whose ``l4gdb_*`` attributes name no declared hook."""
    declared = _declared_hooks()
    for attr in dir(plugin):
        if attr.startswith("l4gdb_") and callable(getattr(plugin, attr)) and attr not in declared:
            raise PluginError(
                f"plugin {name!r} implements unknown hook {attr!r} "
                f"(known hooks: {', '.join(sorted(declared))})"
            )


class Plugins:
    """The loaded plugin set. Loading happens on first use, not at import."""

    def __init__(self) -> None:
        self._pm: pluggy.PluginManager | None = None
        self._infos: list[PluginInfo] = []

    @property
    def pm(self) -> pluggy.PluginManager:
        if self._pm is None:
            self._pm = self._load()
        return self._pm

    def register(self, plugin: Any, name: str) -> None:
        """Register an extra plugin object (tests, embedding)."""
        validate_plugin(name, plugin)
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self._infos.append(PluginInfo(name, getattr(plugin, "__name__", repr(plugin)), "-",
                                      self._hooks_of(name)))

    def _load(self) -> pluggy.PluginManager:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        for ep in importlib.metadata.entry_points(group=GROUP):
            try:
                module = ep.load()
            except Exception as exc:  # a broken third-party plugin must not hide the others
                raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
            validate_plugin(ep.name, module)
            try:
                pm.register(module, name=ep.name)
                pm.check_pending()
            except pluggy.PluginValidationError as exc:
                raise PluginError(f"plugin {ep.name!r} is invalid: {exc}") from exc
            dist = ep.dist.name if ep.dist else "?"
            self._infos.append(PluginInfo(ep.name, ep.value, dist, []))
        self._pm = pm
        for info in self._infos:
            info.hooks = self._hooks_of(info.name)
        return pm

    def _hooks_of(self, name: str) -> list[str]:
        plugin = self.pm.get_plugin(name)
        callers = self.pm.get_hookcallers(plugin) or []
        return sorted(c.name for c in callers)

    def infos(self) -> list[PluginInfo]:
        self.pm  # noqa: B018  (load on demand)
        return list(self._infos)

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def arch_names(self) -> list[str]:
        names: list[str] = []
        for group in self.hook.l4gdb_arch_names():
            names.extend(group)
        return sorted(set(names))

    def linux_abis(self) -> dict[str, Any]:
        """The LinuxAbi of every arch whose plugin has one (Wombat runs there), by name."""
        out = {}
        for arch in self.arch_names():
            abi = self.hook.l4gdb_linux_abi(arch=arch)
            if abi is not None:
                out[arch] = abi
        return out

    def require_arch(self, arch: str) -> None:
        if arch not in self.arch_names():
            known = ", ".join(self.arch_names()) or "none installed"
            raise UsageError(f"unknown architecture {arch!r} (installed: {known})")

    def wants_events(self, options: dict[str, Any] | None = None) -> bool:
        """Whether a run with ``options`` must send kernel events through pluggy."""
        listeners = {i.plugin for i in self.hook.l4gdb_kernel_event.get_hookimpls()}
        if not listeners:
            return False
        askers = {i.plugin for i in self.hook.l4gdb_wants_kernel_events.get_hookimpls()}
        if listeners - askers:
            return True
        return any(self.hook.l4gdb_wants_kernel_events(options=options or {}))


_plugins: Plugins | None = None


def get_plugins() -> Plugins:
    global _plugins
    if _plugins is None:
        _plugins = Plugins()
    return _plugins
