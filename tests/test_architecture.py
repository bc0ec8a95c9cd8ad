"""The package's layering, checked on the source: imports parsed with ``ast``, nothing run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "salsweep"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, at any depth (lazy imports in functions too).

    ``from a.b import c`` counts as both ``a.b`` and ``a.b.c``, since c may be a module.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imported_modules(path: Path) -> set[str]:
    return imports_of(path.read_text(), module_name(path), path.name == "__init__.py")


def modules_under(*relative: str) -> list[Path]:
    paths = []
    for name in relative:
        target = PACKAGE / name
        if target.is_dir():
            paths.extend(sorted(target.rglob("*.py")))
        elif target.with_suffix(".py").is_file():
            paths.append(target.with_suffix(".py"))
    return paths


STAGES = [p for p in modules_under("stages") if p.name != "__init__.py"]


def test_the_import_collector_sees_lazy_and_relative_imports():
    # Guards the checks below against passing because nothing was found.
    assert len(STAGES) >= 10
    assert "salsweep.io" in imported_modules(PACKAGE / "stages" / "classify.py")
    source = "from .classify import x\n\ndef f():\n    import salsweep.figures\n"
    assert imports_of(source, "salsweep.stages.probe") == {
        "salsweep.stages.classify",
        "salsweep.stages.classify.x",
        "salsweep.figures",
    }


@pytest.mark.parametrize("path", STAGES, ids=lambda p: p.stem)
def test_no_stage_imports_another_stage(path):
    own = module_name(path)
    others = {
        ".".join(name.split(".")[:3])
        for name in imported_modules(path)
        if name.startswith("salsweep.stages.")
    } - {own}
    assert not others, f"{own} imports other stages: {sorted(others)}"


def test_figures_import_no_stage():
    paths = modules_under("figures")
    assert paths, "no salsweep/figures.py or salsweep/figures/ found"
    for path in paths:
        stages = {n for n in imported_modules(path) if n.split(".")[:2] == ["salsweep", "stages"]}
        assert not stages, f"{module_name(path)} imports {sorted(stages)}; use salsweep.io"


def test_masker_imports_nothing_from_saliency():
    paths = modules_under("masker")
    assert len(paths) >= 3
    for path in paths:
        upward = {n for n in imported_modules(path) if n.split(".")[:2] == ["salsweep", "saliency"]}
        assert not upward, f"{module_name(path)} imports {sorted(upward)}; share it via models/"
