"""The config schema's per-plugin blocks and the README's config reference, generated.

``python -m salsweep.schema_doc --write README.md`` rewrites the schema's generated blocks
(between ``# <generated NAME ...>`` and ``# </generated NAME>``) from the plugins' ``PARAMS``
declarations, then the README's reference (between the config-reference markers): one
table of every schema key and one of every plugin with its parameters. Without arguments
it prints the reference. tests/test_schema.py checks that both are up to date.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from salsweep.params import Param, Plugin
from salsweep.registry import declarations

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

# Each plugin kind in the README: package, title, where its name and parameters go.
PLUGIN_KINDS = (
    (
        "salsweep.datasets",
        "Dataset sources",
        "`datasets.<name>.source`; parameters are keys of the entry",
    ),
    (
        "salsweep.models",
        "Model sources",
        "`models.<name>.source`; parameters are keys of the entry",
    ),
    (
        "salsweep.perturbations",
        "Perturbation kinds",
        "`perturbations.<name>.kind`; parameters go under `params`",
    ),
    (
        "salsweep.saliency",
        "Saliency methods",
        "keys of `saliency.methods`; parameters are keys of the method",
    ),
    ("salsweep.metrics", "Map metrics", "`metrics` items, `name` or `{name: ..., <parameters>}`"),
    ("salsweep.faithfulness", "Model (faithfulness) metrics", "`metrics` items, as map metrics"),
)


# --- schema ------------------------------------------------------------------------------


def _method_block(plugin: Plugin) -> dict[str, Any]:
    return {
        "description": plugin.description,
        "type": "object",
        "properties": {key: param.schema() for key, param in plugin.params.items()},
    }


def generated_blocks() -> dict[str, dict[str, Any]]:
    """Each generated schema block, from the declarations."""
    methods = declarations("salsweep.saliency")
    return {
        "dataset-sources": {"enum": list(declarations("salsweep.datasets"))},
        "model-sources": {"enum": list(declarations("salsweep.models"))},
        "perturbation-kinds": {"enum": list(declarations("salsweep.perturbations"))},
        "saliency-methods": {
            "propertyNames": {"enum": list(methods)},
            "additionalProperties": {"type": "object"},
            "properties": {name: _method_block(plugin) for name, plugin in methods.items()},
        },
    }


_BLOCK = re.compile(
    r"^(?P<indent> *)(?P<open># <generated (?P<name>[\w-]+)[^\n]*>)\n"
    r".*?^(?P=indent)# </generated (?P=name)>$",
    re.MULTILINE | re.DOTALL,
)


def render_schema(text: str) -> str:
    """``text`` (the schema file) with every generated block rewritten."""
    blocks = generated_blocks()
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name, indent = match["name"], match["indent"]
        if name not in blocks:
            raise KeyError(f"{SCHEMA.name}: unknown generated block {name!r}")
        seen.add(name)
        body = yaml.safe_dump(
            blocks[name], sort_keys=False, default_flow_style=None, width=100, allow_unicode=True
        )
        lines = [indent + line if line else line for line in body.splitlines()]
        return "\n".join([indent + match["open"], *lines, f"{indent}# </generated {name}>"])

    out = _BLOCK.sub(replace, text)
    if seen != set(blocks):
        raise KeyError(f"{SCHEMA.name}: no markers for {sorted(set(blocks) - seen)}")
    return out


# --- README reference --------------------------------------------------------------------


def _rows(node: dict, prefix: str, root: dict) -> list[tuple[str, str, str]]:
    if "$ref" in node:
        target = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    rows = []
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        rows.append((path, _default(child, root), " ".join(child.get("description", "").split())))
        rows.extend(_rows(child, path, root))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("properties"):
        rows.extend(_rows(extra, f"{prefix}.<name>", root))
    return rows


def _default(node: dict, root: dict) -> str:
    if "default" in node:
        return f"`{json.dumps(node['default'])}`"
    if "$ref" in node:
        target = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _default(target, root)
    return ""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")


def _param_text(name: str, param: Param) -> str:
    default = "required" if param.required else f"`{json.dumps(param.default)}`"
    return f"`{name}` ({default}; {param.check.phrase}): {param.description}"


def plugin_tables() -> str:
    """A table per plugin kind: each plugin with its parameters, from the declarations."""
    lines: list[str] = []
    for package, title, where in PLUGIN_KINDS:
        lines += [f"**{title}** ({where}):", "", "| name | parameters | meaning |", "|---|---|---|"]
        for name, plugin in declarations(package).items():
            params = "<br>".join(_param_text(key, p) for key, p in plugin.params.items())
            lines.append(f"| `{name}` | {_cell(params) or 'none'} | {_cell(plugin.description)} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def reference_table(schema_path: Path = SCHEMA) -> str:
    schema = yaml.safe_load(schema_path.read_text())
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for path, default, description in _rows(schema, "", schema):
        lines.append(f"| `{path}` | {default} | {description.replace('|', '/')} |")
    lines += ["", plugin_tables()]
    return "\n".join(lines)


START, END = "<!-- config-reference -->", "<!-- /config-reference -->"


def write_into(readme: Path) -> None:
    """Rewrite the schema's generated blocks, then the README's config reference."""
    SCHEMA.write_text(render_schema(SCHEMA.read_text()))
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{reference_table()}\n{END}{tail}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write_into(Path(sys.argv[2]))
    else:
        sys.stdout.write(reference_table() + "\n")
