"""Noise floors (issue 12 section 1): each model source's classification layer, seeded
re-initialisation, random_logit's class draw, and a floors job that does not depend on
sharding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY_CLASSES, tiny_images
from standins import save_convnext, save_resnet, save_vit

from salsweep.io import (
    FLOOR_COLUMNS,
    FLOOR_KEYS,
    encode_png,
    load_maps,
    write_json,
    write_table,
)
from salsweep.models import load_classifier
from salsweep.models.randomise import randomise_weights
from salsweep.stages.floors import random_logit_targets

CLASSES = ["a", "b", "c", "d"]


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def last_linear(module: torch.nn.Module) -> torch.nn.Linear:
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    assert linears, f"no Linear in {module}"
    return linears[-1]


def hf_classifier(tmp_path: Path, kind: str):
    folder = tmp_path / kind
    if kind == "vit":
        save_vit(folder, CLASSES, size=16)
    elif kind == "convnext":
        save_convnext(folder, CLASSES, size=32)
    else:
        save_resnet(folder, CLASSES, size=32)
    return load_classifier({"source": "hf", "path": str(folder)}, CLASSES, "cpu")


def small_cnn():
    from salsweep.models.small_cnn import SmallCNN

    torch.manual_seed(0)
    return SmallCNN(CLASSES, input_size=(16, 16), width=4).eval().requires_grad_(False)


def check_head_randomisation(classifier, images: np.ndarray) -> None:
    """The head is the layer giving the logits; re-initialising it changes it and nothing
    else, the same way on every call; randomising all changes every weight tensor."""
    head = classifier.classification_layer()
    assert last_linear(head).out_features == classifier.n_classes
    trained = state(classifier)
    (prefix,) = {f"{name}." for name, m in classifier.named_modules() if m is head}
    logits = classifier(torch.from_numpy(images).float())
    # logits are the head's output: hooking it sees exactly the classifier's logits
    seen = {}
    handle = last_linear(head).register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    try:
        assert torch.equal(classifier(torch.from_numpy(images).float()), seen["out"])
    finally:
        handle.remove()

    randomise_weights(classifier, "head", seed=11)
    first = state(classifier)
    for key, value in trained.items():
        if key.startswith(prefix) and key.endswith("weight"):
            assert not torch.equal(value, first[key]), key
        elif not key.startswith(prefix):
            assert torch.equal(value, first[key]), key
    assert not torch.equal(classifier(torch.from_numpy(images).float()), logits)
    assert all(not p.requires_grad for p in classifier.parameters())

    classifier.load_state_dict(trained)
    randomise_weights(classifier, "head", seed=11)
    second = state(classifier)
    assert all(torch.equal(first[k], second[k]) for k in first)
    randomise_weights(classifier, "head", seed=12)
    head_key = next(k for k in first if k.startswith(prefix) and k.endswith("weight"))
    assert not torch.equal(state(classifier)[head_key], first[head_key])

    classifier.load_state_dict(trained)
    randomise_weights(classifier, "all", seed=11)
    everything = state(classifier)
    changed = [k for k, v in trained.items() if v.dtype.is_floating_point and v.numel() > 1]
    differing = [k for k in changed if not torch.equal(trained[k], everything[k])]
    # every weight tensor is redrawn (a norm's weight/bias reset to 1/0 may equal trained)
    weights = [k for k in changed if k.endswith("weight") and trained[k].ndim >= 2]
    assert weights and set(weights) <= set(differing)
    classifier.load_state_dict(trained)
    randomise_weights(classifier, "all", seed=11)
    assert all(torch.equal(everything[k], v) for k, v in state(classifier).items())


@pytest.mark.parametrize("kind", ["vit", "convnext", "resnet"])
def test_hf_classification_layer_and_randomisation(tmp_path, kind):
    classifier = hf_classifier(tmp_path, kind)
    images, _ = tiny_images(3, size=32, seed=1)
    check_head_randomisation(classifier, images)


def test_small_cnn_classification_layer_and_randomisation():
    classifier = small_cnn()
    assert classifier.classification_layer() is classifier.fc
    images, _ = tiny_images(3, size=16, seed=1)
    check_head_randomisation(classifier, images)


def test_lite0_classification_layer_and_randomisation():
    from salsweep.models.efficientnet_lite0 import N_CLASSES

    classifier = load_classifier(
        {"source": "efficientnet_lite0"}, [str(i) for i in range(N_CLASSES)], "cpu"
    )
    assert classifier.classification_layer() is classifier.fc
    images, _ = tiny_images(2, size=32, seed=1)
    check_head_randomisation(classifier, images)


def test_randomise_rejects_unknown_scope_and_keeps_global_rng():
    classifier = small_cnn()
    with pytest.raises(ValueError, match="scope"):
        randomise_weights(classifier, "middle", seed=1)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    randomise_weights(classifier, "all", seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_random_logit_never_picks_the_target_and_covers_the_others():
    ids = [f"img-{i}" for i in range(400)]
    for n_classes in (2, 3, 10):
        targets = np.stack([np.arange(400) % n_classes, (np.arange(400) + 1) % n_classes], 1)
        drawn = random_logit_targets(targets, ids, n_classes, seed=3, dataset="d")
        assert drawn.shape == targets.shape
        assert not (drawn == targets).any()
        assert drawn.min() >= 0 and drawn.max() < n_classes
        assert set(drawn.ravel()) == set(range(n_classes))
    with pytest.raises(ValueError, match="2 classes"):
        random_logit_targets(targets[:, :1], ids, 1, seed=3, dataset="d")


def test_random_logit_seed_depends_only_on_study_seed_dataset_and_image():
    ids = [f"img-{i}" for i in range(50)]
    targets = np.zeros((50, 2), dtype=np.int64)
    whole = random_logit_targets(targets, ids, 1000, seed=3, dataset="d")
    # the other half of a shard, in another order: the same classes per image
    part = random_logit_targets(targets[::-3], ids[::-3], 1000, seed=3, dataset="d")
    assert np.array_equal(part, whole[::-3])
    assert not np.array_equal(random_logit_targets(targets, ids, 1000, seed=4, dataset="d"), whole)
    assert not np.array_equal(random_logit_targets(targets, ids, 1000, seed=3, dataset="e"), whole)


def write_images(folder: Path, images: np.ndarray, labels: np.ndarray, ids: list[str], name: str):
    table = pd.DataFrame(
        {
            "image_id": ids,
            "image": [encode_png(image) for image in images],
            "label": np.asarray(labels, dtype=np.int64),
            "mask": pd.Series([None] * len(images), dtype=object),
        }
    )
    path = folder / f"{name}.parquet"
    write_table(table, path)
    return str(path)


def run_floors(folder: Path, spec: dict, images, labels, ids, name: str) -> pd.DataFrame:
    from salsweep.stages.floors import floors_shard
    from salsweep.stages.saliency import explain_sweep

    shard = write_images(folder, images, labels, ids, name)
    predictions = folder / f"pred-{name}.parquet"
    write_table(pd.DataFrame({"image_id": ids, "label": labels, "pred": labels}), predictions)
    common = {
        "method": "sliding_window",
        "method_params": {"window": 4, "stride": 4, "fill": [128, 128, 128]},
        "spec": spec,
        "device": "cpu",
        "weights_path": None,
        "batch_size": 16,
        "seed": 7,
        "deterministic": True,
        "dataset": "tiny",
        "model": "vit",
    }
    clean = folder / f"clean-{name}.safetensors"
    explain_sweep(
        [shard],
        [str(predictions)],
        str(folder / "classes.json"),
        [str(clean)],
        target_names=["truth", "pred"],
        **common,
    )
    floors = ["random_logit", "randomised_head", "randomised_all"]
    out_maps = {f: str(folder / f"{name}-{f}.safetensors") for f in floors}
    out = folder / f"floors-{name}.parquet"
    floors_shard(
        shard,
        str(folder / "classes.json"),
        str(clean),
        out_maps,
        str(out),
        metric_specs=[{"name": "entropy"}, {"name": "ssd"}, {"name": "xcorr"}],
        **common,
    )
    reference = load_maps(clean)
    for floor in floors:
        maps = load_maps(out_maps[floor])
        assert maps.image_ids == ids and maps.target_names == reference.target_names
        assert maps.maps.shape == reference.maps.shape
        if floor == "random_logit":
            assert not (maps.targets == reference.targets).any()
        else:
            assert np.array_equal(maps.targets, reference.targets)
            assert not np.array_equal(maps.maps, reference.maps)
    from salsweep.io import read_table

    return read_table(out)


def test_floors_job_rows_do_not_depend_on_sharding(tmp_path, standins):
    write_json(TINY_CLASSES, tmp_path / "classes.json")
    images, labels = tiny_images(6, size=16, seed=3)
    ids = [f"img-{i}" for i in range(6)]
    spec = {"source": "hf", "path": str(standins["vit"])}
    whole = run_floors(tmp_path, spec, images, labels, ids, "whole")
    halves = [
        run_floors(tmp_path, spec, images[s], labels[s], ids[s], f"half{k}")
        for k, s in enumerate([slice(0, 3), slice(3, 6)])
    ]
    assert list(whole.columns) == FLOOR_COLUMNS
    # drift metrics only (entropy is not one), 3 floors x 2 targets x 2 metrics x 6 images
    assert sorted(whole["metric"].unique()) == ["ssd", "xcorr"]
    assert len(whole) == 3 * 2 * 2 * 6
    split = pd.concat(halves, ignore_index=True)
    whole = whole.sort_values(FLOOR_KEYS).reset_index(drop=True)
    split = split.sort_values(FLOOR_KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, split)
    assert whole["value"].to_numpy().tobytes() == split["value"].to_numpy().tobytes()


def test_floor_summary_rows_have_the_floor_perturbation_and_no_level():
    from salsweep.stages.aggregate import summarize
    from salsweep.stats import mean_ci

    values = [0.1, 0.3, 0.8]
    floors = pd.DataFrame(
        {
            "dataset": "d",
            "model": "m",
            "method": "vanilla_gradient",
            "target": "truth",
            "floor": "randomised_all",
            "image_id": ["a", "b", "c"],
            "metric": "xcorr",
            "value": values,
        }
    )[FLOOR_COLUMNS]
    predictions = pd.DataFrame(
        {
            "dataset": ["d"],
            "model": ["m"],
            "perturbation": ["clean"],
            "level": [0.0],
            "correct": [True],
        }
    )
    empty = pd.DataFrame(columns=["dataset", "model", "perturbation", "level", "method"])
    metrics = empty.assign(target=[], metric=[], value=[])
    summary = summarize(predictions, metrics, floors)
    row = summary[summary["perturbation"] == "floor:randomised_all"].iloc[0]
    n, mean, low, high = mean_ci(np.asarray(values))
    assert np.isnan(row["level"]) and row["method"] == "vanilla_gradient"
    assert (row["n"], row["mean"], row["ci_low"], row["ci_high"]) == (n, mean, low, high)
    assert row["mean"] == pytest.approx(0.4)
    assert summary["metric"].tolist() == ["accuracy", "xcorr"]


def test_floors_key_turns_the_jobs_on_and_off(tmp_path, standins):
    from conftest import run_snakemake, tiny_study, write_config
    from test_pipeline import planned_jobs

    config = tiny_study(standins)
    default = planned_jobs(run_snakemake(tmp_path, write_config(tmp_path, config), "-n"))
    # one job per (dataset, model, method, shard): 2 pairs x 2 methods x 1 shard
    assert default["floors"] == 4
    assert default["changes"] == 2  # one per (dataset, model, shard)
    off = write_config(tmp_path, {**config, "floors": []}, "off.yaml")
    assert "floors" not in planned_jobs(run_snakemake(tmp_path, off, "-n"))
    bad = write_config(tmp_path, {**config, "floors": ["random_pixels"]}, "bad.yaml")
    result = run_snakemake(tmp_path, bad, "-n", check=False)
    assert result.returncode != 0
    assert "random_pixels" in result.stdout + result.stderr
