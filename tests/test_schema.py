"""The schema, the registries and the README say the same thing."""

from __future__ import annotations

import yaml
from conftest import REPO

from salsweep.schema_doc import SCHEMA, reference_table

SCHEMA_DOC = yaml.safe_load(SCHEMA.read_text())
PROPS = SCHEMA_DOC["properties"]


def _walk(node: dict, path: str):
    for key, child in node.get("properties", {}).items():
        yield f"{path}.{key}".lstrip("."), child
        yield from _walk(child, f"{path}.{key}")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _walk(extra, f"{path}.<name>")


def test_every_key_has_a_description():
    missing = [path for path, child in _walk(SCHEMA_DOC, "") if not child.get("description")]
    assert missing == []


def test_method_defaults_match_the_code():
    from salsweep.saliency.params import METHOD_PARAMS

    methods = PROPS["saliency"]["properties"]["methods"]
    assert sorted(methods["propertyNames"]["enum"]) == sorted(METHOD_PARAMS)
    for name, params in METHOD_PARAMS.items():
        documented = methods["properties"][name]["properties"]
        assert {k: v.get("default") for k, v in documented.items()} == params, name


def test_kind_and_source_enums_match_the_registries():
    from salsweep.datasets import DATASETS
    from salsweep.models.params import MODEL_PARAMS
    from salsweep.perturbations import PERTURBATIONS

    perturbation = PROPS["perturbations"]["additionalProperties"]["properties"]["kind"]["enum"]
    assert sorted(perturbation) == PERTURBATIONS.names()
    dataset = PROPS["datasets"]["additionalProperties"]["properties"]["source"]["enum"]
    assert sorted(dataset) == DATASETS.names()
    model = PROPS["models"]["additionalProperties"]["properties"]["source"]["enum"]
    assert sorted(model) == sorted(MODEL_PARAMS)


def test_readme_config_reference_is_generated_from_the_schema():
    readme = (REPO / "README.md").read_text()
    assert reference_table() in readme, "run: python -m salsweep.schema_doc, paste into README"


def test_readme_documents_every_metric_and_method():
    from salsweep.metrics.params import METRIC_PARAMS
    from salsweep.saliency.params import METHOD_PARAMS

    readme = (REPO / "README.md").read_text()
    for name in [*METRIC_PARAMS, *METHOD_PARAMS]:
        assert f"`{name}`" in readme, name
