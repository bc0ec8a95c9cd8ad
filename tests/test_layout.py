"""Files named after what they hold: each rule file is named after its rule (a family of
rules shares its first rule's file), so a rule is found by its name."""

from __future__ import annotations

import re

from conftest import REPO

RULES = REPO / "rules"


def rules_by_file() -> dict[str, list[str]]:
    return {
        path.stem: re.findall(r"^rule (\w+):", path.read_text(), re.M)
        for path in sorted(RULES.glob("*.smk"))
        if path.stem != "common"  # the DAG helpers: path patterns, input and param functions
    }


def test_every_rule_file_is_named_after_its_rules():
    files = rules_by_file()
    assert {"map_metrics", "train_masker", "examples"} <= set(files)
    for stem, names in files.items():
        assert stem in names, f"rules/{stem}.smk has no rule {stem}: {names}"
        family = (f"{stem}_", "figure_") if stem == "figures" else (f"{stem}_",)
        strays = [name for name in names if name != stem and not name.startswith(family)]
        assert not strays, f"rules/{stem}.smk holds rules named otherwise: {strays}"


def test_the_snakefile_includes_every_rule_file():
    included = re.findall(r'^include: "rules/(\w+)\.smk"', (REPO / "Snakefile").read_text(), re.M)
    assert sorted(included) == sorted([*rules_by_file(), "common"])
