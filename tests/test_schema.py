"""The schema, the registries and the README say the same thing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


PACKAGES = (
    "salsweep.datasets",
    "salsweep.faithfulness",
    "salsweep.metrics",
    "salsweep.models",
    "salsweep.perturbations",
    "salsweep.saliency",
)


def test_schema_blocks_are_generated_from_the_declarations():
    from salsweep.schema_doc import render_schema

    text = SCHEMA.read_text()
    assert render_schema(text) == text, "run: python -m salsweep.schema_doc --write README.md"


def test_readme_documents_every_plugin_of_every_kind():
    from salsweep.registry import declarations

    readme = (REPO / "README.md").read_text()
    for package in PACKAGES:
        for name, plugin in declarations(package).items():
            rows = [line for line in readme.splitlines() if line.startswith(f"| `{name}` |")]
            row = next((line for line in rows if plugin.description in line), "")
            assert row, (package, name)
            assert all(f"`{param}`" in row for param in plugin.params), (package, name)


def test_declarations_read_from_source_equal_the_imported_modules():
    """The torch-free reading of PARAMS gives what importing the module gives."""
    import importlib

    from salsweep.registry import plugin_modules, read_declaration

    for package in PACKAGES:
        modules = plugin_modules(package)
        assert modules, package
        for module in modules:
            imported = importlib.import_module(f"{package}.{module}")
            read = read_declaration(Path(imported.__file__), imported.__name__)
            assert read == imported.PARAMS, f"{package}.{module}"


def test_every_registered_plugin_is_declared():
    from salsweep.datasets import DATASETS
    from salsweep.faithfulness import MODEL_METRICS
    from salsweep.metrics import METRICS
    from salsweep.models import MODELS
    from salsweep.perturbations import PERTURBATIONS
    from salsweep.registry import declarations
    from salsweep.saliency import SALIENCY_METHODS

    registries = (DATASETS, MODEL_METRICS, METRICS, MODELS, PERTURBATIONS, SALIENCY_METHODS)
    for package, registry in zip(PACKAGES, registries, strict=True):
        assert registry.names() == list(declarations(package)), package


def test_source_params_in_the_schema_are_the_declared_ones():
    """Dataset and hf-model parameters sit flat in their entries: the schema must list each."""
    from salsweep.registry import declarations

    dataset_keys = set(PROPS["datasets"]["additionalProperties"]["properties"])
    for source, plugin in declarations("salsweep.datasets").items():
        assert set(plugin.params) <= dataset_keys, source
    model_keys = set(PROPS["models"]["additionalProperties"]["properties"])
    assert set(declarations("salsweep.models")["hf"].params) <= model_keys
    train_keys = set(PROPS["models"]["additionalProperties"]["properties"]["train"]["properties"])
    assert {"epochs", "batch_size", "lr", "width"} <= train_keys


def test_config_validation_does_not_import_torch():
    """Every plugin kind's checks run on a config without importing torch."""
    config = {
        "study": {"seed": 0, "shards": 1, "device": "cpu"},
        "datasets": {
            "digits": {"source": "sklearn_digits", "test_fraction": 0.3},
            "photos": {"source": "bundled_photos"},
            "hub": {"source": "hf", "path": "org/data", "split": "validation"},
        },
        "models": {
            "cnn": {"source": "train", "datasets": ["digits"]},
            "lite0": {"source": "efficientnet_lite0", "datasets": ["photos"]},
            "vit": {"source": "hf", "path": "org/vit", "datasets": ["hub"]},
        },
        "perturbations": {
            "gaussian_blur": {"levels": [3, 5]},
            "salt_and_pepper": {"levels": [0.1], "params": {"salt_vs_pepper": 0.3}},
            "jpeg_quality": {"levels": [50], "params": {"chroma_subsampling": "4:4:4"}},
        },
        "saliency": {"methods": {"rise": {"n": 10}, "gradcam": {}, "realtime_mask": {}}},
        "metrics": ["entropy", {"name": "topk_iou", "k": 5}, {"name": "deletion_auc", "steps": 4}],
    }
    code = (
        "import json, sys; from salsweep.config import Study; "
        f"Study(json.loads({json.dumps(json.dumps(config))})); "
        "assert 'torch' not in sys.modules, 'torch'"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
