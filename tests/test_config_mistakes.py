"""Slips in the levels of a sweep or in a model folder fail when Snakemake parses the
config, before any job, with the key named (issue 11, defects 1 and 10)."""

from __future__ import annotations

import copy

import pytest
from conftest import run_snakemake, write_config

from salsweep.config import ConfigError, check_model_folder

BASE = {
    "study": {"seed": 0, "shards": 1, "device": "cpu"},
    "datasets": {"digits": {"source": "sklearn_digits"}},
    "models": {"cnn": {"source": "train", "datasets": ["digits"]}},
    "perturbations": {"gaussian_blur": {"levels": [3, 5]}},
    "saliency": {"methods": {"sliding_window": {}}},
    "metrics": ["entropy"],
}
LEVELS_KEY = "perturbations.gaussian_blur.levels"
FORMS = '{"linspace": [start, stop, num], "odd": false, "integer": false}'


def dry_run(tmp_path, config: dict) -> str:
    result = run_snakemake(tmp_path, write_config(tmp_path, config), "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert not (tmp_path / "results").exists()
    return output


@pytest.mark.parametrize(
    ("levels", "detail"),
    [
        ([], "the level list is empty"),
        (["3"], "level #0 must be a number, got '3'"),
        (3, "got 3"),
        ([3, "5", 7], "level #1 must be a number, got '5'"),
        ({"linspace": [1, 9, 3], "od": True}, "unknown level spec key(s) ['od']"),
        ({"lin": [1, 9, 3]}, "unknown level spec key(s) ['lin']"),
        ({"linspace": [1, 9]}, "linspace must be [start, stop, num]"),
        ({"linspace": [1, 9, 3], "odd": "yes"}, "odd must be true or false"),
    ],
)
def test_a_bad_levels_value_names_the_key_and_the_allowed_forms(tmp_path, levels, detail):
    config = copy.deepcopy(BASE)
    config["perturbations"]["gaussian_blur"]["levels"] = levels
    output = dry_run(tmp_path, config)
    assert "AttributeError" not in output
    assert f"config key '{LEVELS_KEY}'" in output
    assert detail in output
    assert "a non-empty list of numbers" in output and FORMS in output


def test_a_linspace_spec_still_gets_its_defaults(tmp_path):
    config = copy.deepcopy(BASE)
    config["perturbations"]["gaussian_blur"]["levels"] = {"linspace": [1, 20, 5], "odd": True}
    result = run_snakemake(tmp_path, write_config(tmp_path, config), "-n")
    rows = [line.split() for line in result.stdout.splitlines()]
    counts = {row[0]: row[1] for row in rows if len(row) == 2 and row[0] in ("perturb", "classify")}
    # levels 1, 5, 11, 15, 21 and the clean reference; one classify job per sweep
    assert counts == {"perturb": "6", "classify": "2"}


def hf_model(path: str) -> dict:
    config = copy.deepcopy(BASE)
    config["models"]["local_vit"] = {"source": "hf", "path": path, "datasets": ["digits"]}
    return config


@pytest.mark.parametrize("path", ["./my_vit", "{tmp}/nowhere/my_vit", "models/my_vit"])
def test_a_missing_model_folder_fails_at_parse_time(tmp_path, path):
    (tmp_path / "models").mkdir()  # so "models/my_vit" can only mean a local folder
    path = path.format(tmp=tmp_path)
    output = dry_run(tmp_path, hf_model(path))
    assert "config key 'models.local_vit.path'" in output
    assert f"no model folder '{path}'" in output


def test_model_folder_check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    vit = tmp_path / "vit"
    vit.mkdir()
    (vit / "config.json").write_text("{}")
    check_model_folder("k", str(vit))
    check_model_folder("k", "vit")  # relative to the working directory
    # hub ids are left to the job (which may download them)
    check_model_folder("k", "google/vit-base-patch16-224")
    check_model_folder("k", "resnet-50")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="'empty' has no config.json"):
        check_model_folder("k", "empty")
    with pytest.raises(ConfigError, match="is a file"):
        check_model_folder("k", str(vit / "config.json"))
    with pytest.raises(ConfigError, match="config key 'k': no model folder 'vit/sub'"):
        check_model_folder("k", "vit/sub")
    with pytest.raises(ConfigError, match="no model folder '../elsewhere'"):
        check_model_folder("k", "../elsewhere")
