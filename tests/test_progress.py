"""What a job's log shows: its first line once inputs are read and the model loaded, progress
lines (done/total, rate, ETA) at most every ``mininterval`` seconds in model jobs, and its
last line once the output is written. Jobs run through ``run_script`` as their workflow
scripts do, so the lines checked are those of the log file; no Snakemake."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CLASSES, tiny_images

from salsweep.condition import CLEAN, CLEAN_LEVEL, Condition
from salsweep.io import encode_png, read_table, write_json, write_table
from salsweep.progress import LogLines, progress
from salsweep.snakemake_io import run_script

# "<desc>: 3/7 img (43%), 2.10img/s, elapsed 00:01, ETA 00:02" (s/img when slower than 1/s)
PROGRESS = re.compile(
    r": (?P<done>\d+)/(?P<total>\d+) (?P<unit>\w+) \(\d+%\), "
    r"(\?|[\d.]+)(\w+/s|s/\w+), elapsed [\d:]+, ETA (\?|[\d:]+)$"
)
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


class FakeClock:
    """tqdm's clock, moved on by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the progress helper -------------------------------------------------------------------
def test_log_lines_turns_redraws_into_one_record_each(caplog):
    writer = LogLines(logging.getLogger("salsweep.test"))
    with caplog.at_level(logging.INFO):
        writer.write("\rfirst   ")
        writer.write("\rsecond")
        writer.write("\n")
        writer.write("\r")
    assert [r.getMessage() for r in caplog.records] == ["first", "second"]


def test_progress_lines_stay_bounded_on_a_large_shard(monkeypatch, caplog):
    """100,000 images, one update each, 0.05 s apart (5,000 s): one line per 10 s at most,
    plus the first (0 done) and the last (all done)."""
    clock = FakeClock()
    monkeypatch.setattr("tqdm.std.time", clock)
    total, step = 100_000, 0.05
    with caplog.at_level(logging.INFO):
        with progress(total, "explained", logging.getLogger("salsweep.test")) as done:
            for _ in range(total):
                clock.now += step
                done.update(1)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) <= total * step / 10 + 2
    assert len(lines) >= total * step / 10 - 2  # it does report every ~10 s
    matches = [PROGRESS.search(line) for line in lines]
    assert all(matches), lines[:3]
    counts = [int(m["done"]) for m in matches]
    assert counts[0] == 0 and counts[-1] == total
    assert counts == sorted(counts)
    assert all(m["total"] == str(total) and m["unit"] == "img" for m in matches)
    # the rate and time left of a line midway: 20 img/s, 2,500 s left
    middle = lines[len(lines) // 2]
    assert "20.00img/s" in middle and "ETA 41:" in middle, middle


def test_a_fast_job_logs_one_line_at_the_start_and_one_at_the_end(caplog):
    with caplog.at_level(logging.INFO):
        with progress(40, "classified", logging.getLogger("salsweep.test")) as done:
            for _ in range(5):
                done.update(8)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("classified: 0/40 img (0%)")
    assert lines[1].startswith("classified: 40/40 img (100%)")


def test_an_empty_shard_logs_no_progress(caplog):
    with caplog.at_level(logging.INFO):
        with progress(0, "classified", logging.getLogger("salsweep.test")):
            pass
    assert not caplog.records


# -- the jobs' logs ------------------------------------------------------------------------
def run_job(folder: Path, function, **kwargs) -> list[str]:
    """Run ``function`` as its workflow script does and return its log file's lines."""
    log_path = folder / f"{function.__name__}.log"
    root = logging.getLogger()
    handlers, level, stderr = root.handlers[:], root.level, sys.stderr
    try:
        run_script(SimpleNamespace(log=[str(log_path)], rule=function.__name__), function, **kwargs)
    finally:  # run_script reroutes logging and stderr for the life of a job process
        job_stream = sys.stderr
        sys.stderr = stderr
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.captureWarnings(False)
        if job_stream is not stderr:
            job_stream.close()
    text = log_path.read_bytes().decode()
    assert "\r" not in text, text[:300]  # no bar redraws: one record per line
    return text.splitlines()


def check_first_and_last(lines: list[str], out_path: Path, first: str = "loaded: ") -> None:
    stamped = [line for line in lines if STAMP.match(line)]
    assert stamped, lines
    assert first in stamped[0], stamped[0]
    assert f"wrote {out_path}" in stamped[-1], stamped[-1]


def progress_counts(lines: list[str], desc: str) -> list[tuple[int, int]]:
    found = [PROGRESS.search(line) for line in lines if f" {desc}: " in line]
    assert found and all(found), lines
    return [(int(m["done"]), int(m["total"])) for m in found]


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jobs")
    images, labels = tiny_images(7, size=16, seed=3)
    table = pd.DataFrame(
        {
            "image_id": [f"img-{i}" for i in range(len(images))],
            "image": [encode_png(image) for image in images],
            "label": np.asarray(labels, dtype=np.int64),
            "mask": pd.Series([None] * len(images), dtype=object),
        }
    )
    write_table(table, folder / "images.parquet")
    write_json(TINY_CLASSES, folder / "classes.json")
    return folder


@pytest.fixture(scope="module")
def vit(standins):
    return {"source": "hf", "path": str(standins["vit"])}


def test_classify_and_saliency_and_model_metrics_logs(shard, vit, tmp_path):
    from salsweep.stages.classify import classify_sweep
    from salsweep.stages.model_metrics import score_model_sweep
    from salsweep.stages.saliency import explain_sweep

    common = dict(device="cpu", weights_path=None, deterministic=True, spec=vit)
    condition = Condition("tiny", CLEAN, CLEAN_LEVEL)
    predictions = tmp_path / "predictions.parquet"
    lines = run_job(
        tmp_path,
        classify_sweep,
        image_paths=[str(shard / "images.parquet")],
        classes_path=str(shard / "classes.json"),
        out_paths=[str(predictions)],
        conditions=[condition],
        model="vit",
        batch_size=2,
        **common,
    )
    check_first_and_last(lines, predictions)
    assert "loaded: 7 images x 1 levels; model hf on cpu, 3 classes" in lines[0]
    assert progress_counts(lines, "classified") == [(0, 7), (7, 7)]
    assert len(read_table(predictions)) == 7

    maps = tmp_path / "maps.safetensors"
    lines = run_job(
        tmp_path,
        explain_sweep,
        image_paths=[str(shard / "images.parquet")],
        prediction_paths=[str(predictions)],
        classes_path=str(shard / "classes.json"),
        out_paths=[str(maps)],
        method="sliding_window",
        method_params={"window": 8, "stride": 8},
        target_names=["truth", "pred"],
        batch_size=4,
        seed=0,
        dataset="tiny",
        model="vit",
        **common,
    )
    check_first_and_last(lines, maps)
    assert progress_counts(lines, "explained (sliding_window)") == [(0, 7), (7, 7)]

    scores = tmp_path / "model_metrics.parquet"
    lines = run_job(
        tmp_path,
        score_model_sweep,
        maps_paths=[str(maps)],
        image_paths=[str(shard / "images.parquet")],
        classes_path=str(shard / "classes.json"),
        out_path=str(scores),
        metric_specs=[{"name": "deletion_auc", "steps": 4}],
        conditions=[condition],
        model="vit",
        method="sliding_window",
        batch_size=4,
        **common,
    )
    check_first_and_last(lines, scores)
    assert progress_counts(lines, "scored") == [(0, 14), (14, 14)]  # 7 images x 2 targets


def test_cpu_jobs_log_a_first_and_a_last_line(shard, tmp_path):
    from salsweep.io import SaliencyMaps, save_maps
    from salsweep.stages.map_metrics import score_sweep
    from salsweep.stages.perturb import perturb_shard

    blurred = tmp_path / "blurred.parquet"
    lines = run_job(
        tmp_path,
        perturb_shard,
        table_path=str(shard / "images.parquet"),
        out_path=str(blurred),
        condition=Condition("tiny", "blur", "3"),
        kind="gaussian_blur",
        params={},
        seed=0,
        shard=1,
        n_shards=2,
    )
    check_first_and_last(lines, blurred)
    assert "loaded: 3 images of shard 1/2" in lines[0]
    assert "gaussian_blur) at 3: 3 images" in lines[-1]

    table = read_table(shard / "images.parquet")
    maps = tmp_path / "maps.safetensors"
    save_maps(
        SaliencyMaps(
            maps=np.random.default_rng(0).random((7, 1, 16, 16)).astype(np.float32),
            targets=table[["label"]].to_numpy(),
            image_ids=table["image_id"].tolist(),
            target_names=["truth"],
            method="sliding_window",
            signed=False,
            class_names=list(TINY_CLASSES),
        ),
        maps,
    )
    scores = tmp_path / "metrics.parquet"
    lines = run_job(
        tmp_path,
        score_sweep,
        maps_paths=[str(maps)],
        image_paths=[str(shard / "images.parquet")],
        out_path=str(scores),
        reference_path=None,
        metric_specs=[{"name": "entropy"}],
        conditions=[Condition("tiny", CLEAN, CLEAN_LEVEL)],
        model="vit",
        method="sliding_window",
    )
    check_first_and_last(lines, scores)
    assert "loaded: 7 images x 1 targets x 1 levels" in lines[0]


def test_dataset_job_logs_a_first_and_a_last_line(standins, tmp_path):
    from salsweep.stages.dataset import materialize_dataset

    out = tmp_path / "table.parquet"
    lines = run_job(
        tmp_path,
        materialize_dataset,
        spec={"source": "hf", "path": str(standins["parquet"]), "cache_dir": str(tmp_path)},
        split="eval",
        seed=0,
        table_path=str(out),
        rejects_path=str(tmp_path / "rejects.parquet"),
        classes_path=str(tmp_path / "classes.json"),
        dataset="tiny",
    )
    check_first_and_last(lines, out, first="reading the eval split of dataset tiny")
    assert "12 images kept + 0 rejected = 12 read" in lines[-1]


def test_training_logs_progress_and_the_loss_per_epoch(shard, tmp_path):
    from salsweep.stages.train import train_model

    weights = tmp_path / "weights.safetensors"
    lines = run_job(
        tmp_path,
        train_model,
        train_path=str(shard / "images.parquet"),
        test_path=str(shard / "images.parquet"),
        classes_path=str(shard / "classes.json"),
        weights_path=str(weights),
        metrics_path=str(tmp_path / "train.json"),
        params={"epochs": 3, "batch_size": 4, "width": 4},
        seed=0,
        device="cpu",
        deterministic=True,
    )
    check_first_and_last(lines, weights)
    assert "loaded: 7 train and 7 test images" in lines[0]
    assert progress_counts(lines, "trained on") == [(0, 21), (21, 21)]  # 3 epochs x 7
    losses = [re.search(r"epoch (\d)/3: mean loss (\S+)$", line) for line in lines]
    losses = [m for m in losses if m]
    assert [m[1] for m in losses] == ["1", "2", "3"]
    assert all(np.isfinite(float(m[2])) for m in losses)


def test_masker_training_logs_progress_and_a_bounded_number_of_loss_lines(shard, vit, tmp_path):
    from salsweep.masker.training import MAX_LOSS_LINES
    from salsweep.stages.train_masker import train_masker_job

    masker = tmp_path / "masker.safetensors"
    steps = 3 * MAX_LOSS_LINES  # one step is one epoch here (7 images, batch 7)
    lines = run_job(
        tmp_path,
        train_masker_job,
        images_path=str(shard / "images.parquet"),
        classes_path=str(shard / "classes.json"),
        masker_path=str(masker),
        metrics_path=str(tmp_path / "masker.json"),
        dataset="tiny",
        model="vit",
        split="eval",
        spec=vit,
        method_params={"train_steps": steps, "train_batch_size": 16, "width": 4},
        seed=0,
        device="cpu",
        weights_path=None,
        deterministic=True,
    )
    check_first_and_last(lines, masker)
    assert "loaded: 7 eval images of tiny; model hf on cpu" in lines[0]
    counts = progress_counts(lines, "masker trained on")
    assert counts[0] == (0, steps * 7) and counts[-1] == (steps * 7, steps * 7)
    losses = [line for line in lines if re.search(r"steps \d+-\d+ of \d+ .*mean loss", line)]
    assert len(losses) == MAX_LOSS_LINES, losses
    assert f"steps {steps - 2}-{steps} of {steps} (3.0 epochs)" in losses[-1]
