"""Registries of plugins, and how a plugin package finds its plugins.

``Registry`` maps a name (the value used in config and in file paths) to a class. A plugin
package (``salsweep.saliency``, ``salsweep.metrics``, ...) does not list its modules: every
public module of the package is a candidate, and a module is a plugin module when it
declares ``PARAMS`` (see ``salsweep.params``). So adding a plugin is adding one module.

- :func:`declarations` reads the ``PARAMS`` of every module of a package *without importing
  it* (as setuptools reads ``attr:`` versions), so config validation stays torch-free.
- :func:`import_plugins` imports the modules, which registers their classes.
- :func:`lazy_exports` is the package ``__getattr__`` that does so on first use.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named plugin classes of one concept. Given the ``package`` of its plugin modules,
    :meth:`get` imports only the module that declares the name (a job imports what it
    uses: a sliding-window job never imports captum), and :meth:`names` all of them."""

    def __init__(self, concept: str, package: str | None = None) -> None:
        self.concept = concept
        self.package = package
        self._entries: dict[str, type[T]] = {}
        self._complete = package is None

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def decorator(cls: type[T]) -> type[T]:
            if name in self._entries:
                raise ValueError(f"{self.concept} {name!r} is registered twice")
            cls.name = name  # type: ignore[attr-defined]
            self._entries[name] = cls
            return cls

        return decorator

    def get(self, name: str) -> type[T]:
        if name not in self._entries and self.package is not None:
            module = declaring_module(self.package, name)
            if module is not None:
                importlib.import_module(f"{self.package}.{module}")
        if name not in self._entries:
            self.import_all()
        try:
            return self._entries[name]
        except KeyError:
            allowed = ", ".join(sorted(self._entries))
            raise KeyError(f"unknown {self.concept} {name!r}; allowed: {allowed}") from None

    def import_all(self) -> None:
        """Import every plugin module of the package (once), checked against the
        declarations."""
        if not self._complete:
            import_plugins(self.package, self)  # type: ignore[arg-type]

    def registered(self) -> list[str]:
        """The names registered so far, importing nothing."""
        return sorted(self._entries)

    def names(self) -> list[str]:
        self.import_all()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self.import_all()
        return name in self._entries


def _module_files(package: str) -> dict[str, Path]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package} is not a package")
    return {
        info.name: Path(info.module_finder.path) / f"{info.name}.py"  # type: ignore[union-attr]
        for info in pkgutil.iter_modules(spec.submodule_search_locations)
        if not info.name.startswith("_") and not info.ispkg
    }


# What a declaration may call besides the names imported from params modules; no builtins
# beyond these, so reading a declaration cannot do anything but build values.
_SAFE_BUILTINS = {
    f.__name__: f for f in (dict, list, tuple, set, frozenset, range, min, max, len, sorted)
}


def _constant_name(node: ast.stmt) -> str | None:
    """The name an ALL_CAPS module-level assignment binds, else None."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target = node.target
    else:
        return None
    if isinstance(target, ast.Name) and target.id.isupper():
        return target.id
    return None


def _is_params_import(node: ast.stmt) -> bool:
    if not isinstance(node, ast.ImportFrom) or node.level or node.module is None:
        return False
    module = node.module
    return module == "salsweep.params" or (
        module.startswith("salsweep.") and module.endswith(".params")
    )


def read_declaration(path: Path, module: str) -> dict[str, Any] | None:
    """The ``PARAMS`` of one module file, evaluated from its source alone; None if it has none.

    Only the module's imports from ``salsweep.params`` / ``salsweep.*.params`` and its
    ALL_CAPS assignments run, in order, with no builtins but a few constructors; a constant
    that needs anything else (another import, a function of the module) is left out, and
    ``PARAMS`` may not use it.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    if not any(_constant_name(node) == "PARAMS" for node in tree.body):
        return None
    namespace: dict[str, Any] = {"__builtins__": _SAFE_BUILTINS}
    for node in tree.body:
        if _is_params_import(node):
            source = importlib.import_module(node.module)  # type: ignore[attr-defined, arg-type]
            for alias in node.names:  # type: ignore[attr-defined]
                namespace[alias.asname or alias.name] = getattr(source, alias.name)
            continue
        name = _constant_name(node)
        if name is None:
            continue
        code = compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec")
        try:
            exec(code, namespace)  # noqa: S102 - our own package's constants, no builtins
        except Exception as error:
            if name == "PARAMS":
                raise ImportError(
                    f"{module}: PARAMS (line {node.lineno}) must be built from literals, names "
                    f"imported from salsweep.params or a salsweep.*.params module, and other "
                    f"ALL_CAPS constants built the same way ({error})"
                ) from None
    declared = namespace["PARAMS"]
    if not isinstance(declared, Mapping):
        raise ImportError(f"{module}: PARAMS must map each registered name to a Plugin")
    return dict(declared)


@functools.cache
def _declared_by_module(package: str) -> dict[str, dict[str, Any]]:
    """``{module: its PARAMS}`` for the modules of ``package`` that declare one."""
    out = {}
    for module, path in sorted(_module_files(package).items()):
        declared = read_declaration(path, f"{package}.{module}")
        if declared is not None:
            out[module] = declared
    return out


def declarations(package: str) -> dict[str, Any]:
    """``{registered name: Plugin}`` over every plugin module of ``package``, sorted by name."""
    found: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for module, declared in _declared_by_module(package).items():
        for name, plugin in declared.items():
            if name in found:
                raise ImportError(f"{package}: {name!r} is declared by {owner[name]} and {module}")
            found[name], owner[name] = plugin, module
    return dict(sorted(found.items()))


def plugin_modules(package: str) -> tuple[str, ...]:
    """The modules of ``package`` that declare ``PARAMS``."""
    return tuple(_declared_by_module(package))


def declaring_module(package: str, name: str) -> str | None:
    """The plugin module of ``package`` whose ``PARAMS`` declares ``name``, read from the
    sources (nothing is imported); None if none does."""
    for module, declared in _declared_by_module(package).items():
        if name in declared:
            return module
    return None


def import_plugins(package: str, registry: Registry[Any]) -> None:
    """Import every plugin module of ``package`` (which registers it) and check that the
    registry holds exactly the declared names."""
    for module in plugin_modules(package):
        importlib.import_module(f"{package}.{module}")
    declared = sorted(declarations(package))
    if registry.registered() != declared:
        raise ImportError(f"{package}: registered {registry.registered()} != declared {declared}")
    registry._complete = True


def lazy_exports(package: str, exports: Mapping[str, Callable[[], Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: the first access to a name of ``exports``
    calls its loader (which may import torch) and caches the value in the package."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = exports[name]()
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


def attribute(module: str, name: str) -> Callable[[], Any]:
    """A loader for :func:`lazy_exports`: ``module.name``, imported on first use."""
    return lambda: getattr(importlib.import_module(module), name)
