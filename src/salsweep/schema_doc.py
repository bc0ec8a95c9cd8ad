"""Render the config schema as the README's reference table: `python -m salsweep.schema_doc`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


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


def reference_table(schema_path: Path = SCHEMA) -> str:
    schema = yaml.safe_load(schema_path.read_text())
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for path, default, description in _rows(schema, "", schema):
        lines.append(f"| `{path}` | {default} | {description.replace('|', '/')} |")
    return "\n".join(lines)


START, END = "<!-- config-reference -->", "<!-- /config-reference -->"


def write_into(readme: Path) -> None:
    """Replace the text between the config-reference markers of ``readme``."""
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{reference_table()}\n{END}{tail}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write_into(Path(sys.argv[2]))
    else:
        sys.stdout.write(reference_table() + "\n")
