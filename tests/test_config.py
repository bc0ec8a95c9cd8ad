"""A bad config fails before any job runs, with a message that names the key."""

from __future__ import annotations

import copy

import pytest
from conftest import REPO, run_snakemake, write_config

from salsweep.config import ConfigError, Study

BASE = {
    "study": {"seed": 0, "shards": 1, "device": "cpu"},
    "datasets": {"digits": {"source": "sklearn_digits"}},
    "models": {"cnn": {"source": "train", "datasets": ["digits"]}},
    "perturbations": {"gaussian_blur": {"levels": [3, 5]}},
    "saliency": {"methods": {"sliding_window": {}}},
    "metrics": ["entropy"],
}


def with_change(path: list, value) -> dict:
    config = copy.deepcopy(BASE)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (["perturbations", "gaussian_blur", "levels"], [3, 4], "perturbations.gaussian_blur"),
        (["models", "cnn", "datasets"], ["cifar"], "models.cnn.datasets[0]"),
        (["saliency", "methods"], {"rise": {"p1": 1.5}}, "saliency.methods.rise"),
        (["perturbations", "salt"], {"levels": [1.5]}, "perturbations.salt"),
        (["metrics"], ["topk_iou", {"name": "topk_iou", "k": 0}], "metrics[1]"),
    ],
)
def test_study_names_the_bad_key(path, value, key):
    with pytest.raises(ConfigError) as error:
        Study(with_change(path, value))
    assert error.value.key == key
    assert key in str(error.value)


def test_study_expands_conditions_and_pairs():
    config = copy.deepcopy(BASE)
    config["perturbations"]["gaussian_blur"] = {"levels": {"linspace": [1, 20, 5], "odd": True}}
    study = Study(config)
    assert [(c.dataset, c.perturbation, c.level) for c in study.conditions("digits")] == [
        ("digits", "clean", "0"),
        *[("digits", "gaussian_blur", str(k)) for k in (1, 5, 11, 15, 21)],
    ]
    assert [c.value for c in study.conditions("digits", include_clean=False)] == [1, 5, 11, 15, 21]
    assert study.pairs() == [("digits", "cnn")]
    assert study.train_dataset("cnn") == "digits"


def test_corruptions_shorthand_expands_to_one_imagenet_c_sweep_each():
    config = copy.deepcopy(BASE)
    config["perturbations"] = {
        "gaussian_blur": {"levels": [3]},
        "imagenet_c": {"corruptions": "benchmark"},
        "extra": {"kind": "imagenet_c", "corruptions": ["spatter"], "levels": [2], "prefix": "x_"},
    }
    study = Study(config)
    sweeps = study.config["perturbations"]
    assert list(sweeps)[0] == "gaussian_blur"
    assert list(sweeps)[1:16] == [
        "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
        "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
        "elastic_transform", "pixelate", "jpeg_compression",
    ]  # fmt: skip
    assert sweeps["fog"] == {"kind": "imagenet_c", "levels": [1, 2, 3, 4, 5],
                             "params": {"corruption": "fog"}}  # fmt: skip
    assert sweeps["x_spatter"] == {"kind": "imagenet_c", "levels": [2],
                                   "params": {"corruption": "spatter"}}  # fmt: skip
    assert study.levels("snow") == ["1", "2", "3", "4", "5"]
    assert study.perturbation_spec("snow") == {"kind": "imagenet_c",
                                               "params": {"corruption": "snow"}}  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "key", "needle"),
    [
        ({"corruptions": "benchmark"}, "perturbations.gaussian_noise", "set kind: imagenet_c"),
        ({"kind": "imagenet_c", "corruptions": "most"}, "corruptions", "benchmark, extra, all"),
        ({"kind": "imagenet_c", "corruptions": ["fogg"]}, "corruptions[0]", "'fogg'"),
        ({"kind": "imagenet_c", "corruptions": "all", "params": {}}, "c", "['params']"),
        # gaussian_blur is a sweep already (BASE) and an extra corruption: name clash
        ({"kind": "imagenet_c", "corruptions": "extra"}, "c", "prefix"),
        ({"kind": "imagenet_c", "levels": [1], "prefix": "x_"}, "c.prefix", "with corruptions"),
    ],
)
def test_corruptions_shorthand_mistakes_name_the_key(entry, key, needle):
    config = copy.deepcopy(BASE)
    name = "gaussian_noise" if key.startswith("perturbations.") else "c"
    config["perturbations"][name] = entry
    with pytest.raises(ConfigError) as error:
        Study(config)
    expected = key if key.startswith("perturbations.") else f"perturbations.{name}"
    assert error.value.key.startswith(expected) and error.value.key.endswith(key)
    assert needle in str(error.value)


BAD_CONFIGS = [
    # (change, text that must appear in the error)
    ((["perturbations", "bluur"], {"kind": "bluur", "levels": [3]}), "bluur"),
    ((["saliency", "methods"], {"gradcamm": {}}), "gradcamm"),
    ((["perturbations", "gaussian_blur", "levels"], [3, 4]), "perturbations.gaussian_blur"),
    ((["models", "cnn", "datasets"], ["nowhere"]), "models.cnn.datasets[0]"),
    ((["datasets", "digits", "source"], "sklearn_digitz"), "sklearn_digitz"),
    ((["metrics"], ["entropyy"]), "entropyy"),
    # remote code is a boolean opt-in on hf models only
    (
        (
            ["models", "hub"],
            {
                "source": "hf",
                "path": "org/model",
                "datasets": ["digits"],
                "trust_remote_code": "yes",
            },
        ),
        "trust_remote_code",
    ),
    (
        (["models", "cnn", "trust_remote_code"], True),
        "trust_remote_code",
    ),
]


@pytest.mark.parametrize(("change", "needle"), BAD_CONFIGS)
def test_snakemake_refuses_a_bad_config_before_any_job(tmp_path, change, needle):
    config = with_change(*change)
    result = run_snakemake(tmp_path, write_config(tmp_path, config), "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert needle in output
    assert not (tmp_path / "results").exists()


def test_default_config_dry_run_lists_every_stage():
    result = run_snakemake(REPO, None, "-n", "--cores", "2", "-F")
    for rule in (
        "dataset",
        "dataset_train_split",
        "perturb",
        "train",
        "classify",
        "saliency",
        "map_metrics",
        "aggregate",
        "examples",
        "figure_accuracy",
        "figure_metrics",
        "figure_grids",
    ):
        assert f"\n{rule} " in result.stdout or f"{rule}  " in result.stdout, rule
