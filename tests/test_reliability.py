"""Reliability: kill -9 and resume, bad input images, byte-identical reruns, shard
invariance and bounded memory. The end-to-end tests (marked e2e) run a trimmed tiny study:
one dataset, one model, one sweep of two levels, one saliency method."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, TINY_CLASSES, run_snakemake, tiny_images, tiny_study, write_config
from PIL import Image

from salsweep.io import encode_png, load_maps, load_probs, read_table, write_json, write_table

AGGREGATE = "results/tables/predictions.parquet"  # the aggregate rule: every table
# Issue 13's tables (a seeded bootstrap): built from the aggregate tables by their own rules.
FAILURE_TABLES = ("failure.parquet", "flip_levels.parquet")
FAILURE_TARGETS = [f"results/tables/{name}" for name in FAILURE_TABLES]
TABLES = (
    "predictions.parquet",
    "metrics.parquet",
    "summary.csv",
    "rejects.parquet",
    "changes.parquet",
    "floors.parquet",
)
# Sliding window 4x4 with stride 2 on 16x16 images: a saliency job lasts a few seconds.
SALIENCY = {
    "targets": ["truth", "pred"],
    "batch_size": 16,
    "methods": {"sliding_window": {"window": 4, "stride": 2, "fill": [128, 128, 128]}},
}


def small_study(standins: dict, shards: int = 1, **overrides) -> dict:
    config = tiny_study(standins)
    config["study"] = {**config["study"], "shards": shards}
    config["datasets"] = {"tiny": config["datasets"]["tiny"]}
    config["models"] = {"vit": config["models"]["vit"]}
    config["perturbations"] = {"gaussian_blur": {"levels": [3, 5]}}
    config["saliency"] = SALIENCY
    return {**config, **overrides}


def snakemake_command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    """The command conftest.run_snakemake runs, for Popen."""
    return [
        *(sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")),
        *("-d", str(workdir), "--configfile", str(configfile), *args),
    ]


def snakemake_env() -> dict:
    path = os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_same_tables(run_a: Path, run_b: Path, names=TABLES) -> None:
    for name in names:
        a, b = run_a / "results" / "tables" / name, run_b / "results" / "tables" / name
        assert sha256(a) == sha256(b), f"{name} differs between {run_a} and {run_b}"


def assert_outputs_whole(results: Path) -> None:
    """Every file under a final output name reads back; temp files never take such a name."""
    for path in results.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".parquet":
            read_table(path)
        elif path.suffix == ".safetensors" and "probs" in path.relative_to(results).parts:
            load_probs(path)
        elif path.suffix == ".safetensors":
            load_maps(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())
    leftovers = list(results.rglob("*.tmp"))
    assert all(path.name.startswith(".") for path in leftovers), leftovers


@pytest.fixture(scope="module")
def reference(tmp_path_factory, standins) -> Path:
    """An uninterrupted run of the small study (tables only)."""
    workdir = tmp_path_factory.mktemp("reference")
    configfile = write_config(workdir, small_study(standins))
    run_snakemake(workdir, configfile, "--cores", "2", AGGREGATE, *FAILURE_TARGETS)
    return workdir


# --- kill -9 and resume --------------------------------------------------------------------


def running_saliency_job(workdir: Path, proc: subprocess.Popen, timeout: float) -> Path | None:
    """Poll until a saliency job has started (its log exists) but not finished (no output)."""
    logs = workdir / "results" / "logs" / "saliency"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for log in sorted(logs.rglob("*.log")) if logs.exists() else []:
            # A job's output is the folder of its sweep and shard (one file per level).
            output = workdir / "results" / "saliency" / log.relative_to(logs).with_suffix("")
            if not output.exists():
                return output
        time.sleep(0.1)
    return None


@pytest.mark.e2e
def test_kill_9_mid_job_then_rerun_matches_an_uninterrupted_run(tmp_path, standins, reference):
    configfile = write_config(tmp_path, small_study(standins))
    command = snakemake_command(tmp_path, configfile, "--cores", "1")
    env = snakemake_env()
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output = running_saliency_job(tmp_path, proc, timeout=600)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, as a crash would
            proc.wait()
    assert output is not None, (tmp_path / "killed.log").read_text()[-3000:]
    # Killed mid-job: its sweep folder holds at most the levels it finished, each file whole;
    # Snakemake's incomplete marker makes the rerun redo the whole folder.
    assert_outputs_whole(tmp_path / "results")
    assert not (tmp_path / "results" / "tables").exists()

    def rerun(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            command + list(extra), cwd=tmp_path, env=env, capture_output=True, text=True
        )

    # Snakemake's lock outlives a kill -9 (it cannot tell a dead run from a live one), so
    # the plain command refuses until `--unlock`; then it resumes where the run stopped.
    first = rerun()
    if first.returncode != 0:
        assert "LockException" in first.stderr + first.stdout, first.stderr[-3000:]
        assert rerun("--unlock").returncode == 0
    resumed = rerun()
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert "profiles/default" in resumed.stderr  # the workflow profile was applied
    assert_outputs_whole(tmp_path / "results")
    assert not list((tmp_path / "results").rglob("*.tmp"))
    assert_same_tables(reference, tmp_path)


def test_workflow_profile_is_picked_up_and_executor_neutral(tmp_path, standins):
    """profiles/default beside the Snakefile applies to a plain `snakemake` (no --profile);
    it is merged over any --profile key by key, so it must not set executor-specific keys."""
    profile = yaml.safe_load((REPO / "profiles" / "default" / "profile.yaml").read_text())
    assert profile.get("rerun-incomplete") is True
    assert set(profile) <= {"rerun-incomplete", "show-failed-logs", "printshellcmds"}
    # One home for profiles (profiles/), and each setting in one of them only.
    assert not (REPO / "workflow" / "profiles").exists()
    for other in (REPO / "profiles").glob("*/profile.yaml"):
        if other.parent.name != "default":
            repeated = set(profile) & set(yaml.safe_load(other.read_text()))
            assert not repeated, f"{other} repeats {sorted(repeated)} of profiles/default"
    configfile = write_config(tmp_path, small_study(standins))
    result = run_snakemake(tmp_path, configfile, "-n", "--cores", "1")
    assert "workflow specific profile" in result.stderr and "profiles/default" in result.stderr


# --- bad input images ------------------------------------------------------------------------


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def zero_size_png() -> bytes:
    """A PNG whose header says 0 x 0 pixels (PIL refuses to write one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def bad_dataset(folder: Path) -> tuple[Path, set[str], dict[str, str]]:
    """A save_to_disk dataset with odd modes, broken files, a bad label and a repeated id.

    Returns the folder, the ids that must be kept, and rejected id -> reason pattern.
    """
    import datasets

    images, labels = tiny_images(6, size=16)
    rgb = [Image.fromarray(image) for image in images]
    gray16 = Image.fromarray((images[4].mean(axis=2) * 257).astype(np.uint16))
    assert gray16.mode.startswith("I;16")
    rgba = np.dstack([images[1], np.full((16, 16), 128, np.uint8)])
    palette_t = rgb[5].convert("P")
    palette_t.info["transparency"] = 0
    large = Image.fromarray(np.repeat(np.repeat(images[2], 40, axis=0), 50, axis=1))
    assert large.size == (800, 640)
    broken = png(rgb[0])
    rows = [
        ("ok-0", png(rgb[0]), 0),
        ("ok-1", png(rgb[1]), 1),
        ("gray", png(rgb[2].convert("L")), 2),
        ("rgba", png(Image.fromarray(rgba, "RGBA")), 1),
        ("palette", png(rgb[3].convert("P")), 0),
        ("palette-transparent", png(palette_t), 2),
        ("gray16", png(gray16), 1),
        ("large", png(large), 2),
        ("truncated", broken[: len(broken) // 2], 0),
        ("zero-size", zero_size_png(), 0),
        ("not-an-image", b"text that claims to be an image", 1),
        ("missing", None, 1),
        ("bad-label", png(rgb[4]), 7),
        ("ok-0", png(rgb[5]), 2),  # a repeated id: the first one is kept
    ]
    features = datasets.Features(
        {
            "name": datasets.Value("string"),
            "img": datasets.Image(),
            "label": datasets.Value("int64"),
        }
    )
    table = datasets.Dataset.from_dict(
        {
            "name": [name for name, _, _ in rows],
            "img": [None if data is None else {"bytes": data, "path": None} for _, data, _ in rows],
            "label": [label for _, _, label in rows],
        },
        features=features,
    )
    table.save_to_disk(str(folder))
    kept = {"ok-0", "ok-1", "gray", "rgba", "palette", "palette-transparent", "gray16", "large"}
    rejected = {
        "truncated": "undecodable",
        "zero-size": "undecodable|zero-size",
        "not-an-image": "cannot identify image file",
        "missing": "no image",
        "bad-label": "label 7 outside",
        "ok-0": "duplicate image_id",
    }
    assert len(rows) == len(kept) + len(rejected)
    return folder, kept, rejected


def bad_study(standins: dict, folder: Path) -> dict:
    config = small_study(
        standins,
        datasets={
            "bad": {
                "source": "hf",
                "path": str(folder),
                "split": "test",
                "id_column": "name",
                "label_column": "label",  # plain ints, so a label can lie outside the classes
                "class_names": TINY_CLASSES,
                "image_size": 16,
            }
        },
        perturbations={"gaussian_blur": {"levels": [3]}},
        saliency={**SALIENCY, "methods": {"vanilla_gradient": {}}},
    )
    config["models"] = {"vit": {**config["models"]["vit"], "datasets": ["bad"]}}
    return config


@pytest.mark.e2e
def test_bad_images_are_converted_or_rejected_and_the_counts_reconcile(tmp_path, standins):
    folder, kept, rejected = bad_dataset(tmp_path / "bad_images")
    n_read = len(kept) + len(rejected)
    run_snakemake(
        tmp_path, write_config(tmp_path, bad_study(standins, folder)), "--cores", "2", AGGREGATE
    )

    tables = tmp_path / "results" / "tables"
    rejects = pd.read_parquet(tables / "rejects.parquet")
    rejects = rejects[(rejects["dataset"] == "bad") & (rejects["split"] == "eval")]
    assert sorted(rejects["image_id"]) == sorted(rejected)
    for image_id, reason in zip(rejects["image_id"], rejects["reason"], strict=True):
        assert pd.Series([reason]).str.contains(rejected[image_id]).all(), (image_id, reason)

    predictions = pd.read_parquet(tables / "predictions.parquet")
    clean = predictions[predictions["perturbation"] == "clean"]
    assert set(clean["image_id"]) == kept  # the converted images are scored
    assert clean["image_id"].is_unique
    assert len(clean) + len(rejects) == n_read  # read = scored + rejected
    blurred = predictions[predictions["perturbation"] == "gaussian_blur"]
    assert set(blurred["image_id"]) == kept
    log = (tmp_path / "results" / "logs" / "dataset" / "bad.log").read_text()
    assert f"{len(kept)} images kept + {len(rejected)} rejected = {n_read} read" in log
    metrics = pd.read_parquet(tables / "metrics.parquet")
    assert set(metrics["image_id"]) == kept


# --- determinism and shard invariance ------------------------------------------------------


@pytest.mark.e2e
def test_two_runs_give_byte_identical_rejects(tmp_path, standins):
    """Reasons are stable text: PIL's 'cannot identify image file <_io.BytesIO object at
    0x...>' would make every run's rejects differ."""
    folder, _, rejected = bad_dataset(tmp_path / "bad_images")
    target = "results/datasets/bad/eval_rejects.parquet"
    written = []
    for run in ("a", "b"):
        workdir = tmp_path / run
        workdir.mkdir()
        configfile = write_config(workdir, bad_study(standins, folder))
        run_snakemake(workdir, configfile, "--cores", "1", target)
        written.append(workdir / target)
    assert sha256(written[0]) == sha256(written[1])
    reasons = read_table(written[0])["reason"]
    assert len(reasons) == len(rejected) and not reasons.str.contains("0x").any()


@pytest.mark.e2e
def test_two_clean_runs_give_byte_identical_tables(tmp_path, standins, reference):
    configfile = write_config(tmp_path, small_study(standins))
    run_snakemake(tmp_path, configfile, "--cores", "2", AGGREGATE, *FAILURE_TARGETS)
    assert_same_tables(reference, tmp_path, TABLES + FAILURE_TABLES)


@pytest.mark.e2e
def test_tables_do_not_depend_on_the_number_of_shards(tmp_path, standins, reference):
    configfile = write_config(tmp_path, small_study(standins, shards=3))
    run_snakemake(tmp_path, configfile, "--cores", "2", AGGREGATE, *FAILURE_TARGETS)
    shards = list((tmp_path / "results" / "predictions" / "tiny" / "vit" / "clean").iterdir())
    assert len(shards) == 3
    assert_same_tables(reference, tmp_path, TABLES + FAILURE_TABLES)


def write_shard(folder: Path, images: np.ndarray, labels: np.ndarray, name: str) -> str:
    ids = [f"img-{i}" for i in range(len(images))]
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


@pytest.fixture
def tiny_shard(tmp_path):
    images, labels = tiny_images(7, size=16, seed=3)
    write_json(TINY_CLASSES, tmp_path / "classes.json")
    return tmp_path, images, labels


def classify(folder: Path, shard: str, spec: dict, batch_size: int | str) -> pd.DataFrame:
    from salsweep.condition import Condition
    from salsweep.stages.classify import classify_sweep

    out = folder / f"pred-{Path(shard).stem}-{batch_size}.parquet"
    classify_sweep(
        [shard],
        str(folder / "classes.json"),
        [str(out)],
        conditions=[Condition("tiny", "clean", "0")],
        model="vit",
        spec=spec,
        device="cpu",
        weights_path=None,
        batch_size=batch_size,
        deterministic=True,
    )
    return read_table(out)


@pytest.mark.parametrize("batch_size", ["auto", 2])
def test_probabilities_do_not_depend_on_batch_composition(tiny_shard, standins, batch_size):
    """One image alone, or in the last short batch, gets the bits it gets in a full batch
    (BLAS takes another path for a 1-row matrix; padded batches avoid it)."""
    folder, images, labels = tiny_shard
    spec = {"source": "hf", "path": str(standins["vit"])}
    whole = classify(folder, write_shard(folder, images, labels, "all"), spec, batch_size)
    alone = pd.concat(
        [
            classify(
                folder,
                write_shard(folder, images[i : i + 1], labels[i : i + 1], f"one{i}"),
                spec,
                batch_size,
            )
            for i in range(len(images))
        ],
        ignore_index=True,
    )
    assert whole["prob_label"].to_numpy().tobytes() == alone["prob_label"].to_numpy().tobytes()
    assert whole["prob_pred"].to_numpy().tobytes() == alone["prob_pred"].to_numpy().tobytes()


def explain(folder: Path, shard: str, spec: dict, method: str, params: dict) -> np.ndarray:
    from salsweep.stages.saliency import explain_sweep

    table = read_table(shard)
    predictions = folder / f"pred-{Path(shard).stem}.parquet"
    write_table(table[["image_id", "label"]].assign(pred=table["label"]), predictions)
    out = folder / f"maps-{Path(shard).stem}-{method}.safetensors"
    explain_sweep(
        [shard],
        [str(predictions)],
        str(folder / "classes.json"),
        [str(out)],
        method=method,
        method_params=params,
        target_names=["truth", "pred"],
        spec=spec,
        device="cpu",
        weights_path=None,
        batch_size=16,
        seed=7,
        deterministic=True,
        dataset="tiny",
        model="vit",
    )
    return load_maps(out).maps


def test_sliding_window_maps_do_not_depend_on_shard_size(tiny_shard, standins):
    folder, images, labels = tiny_shard
    spec = {"source": "hf", "path": str(standins["vit"])}
    params = {"window": 4, "stride": 4, "fill": [128, 128, 128]}
    whole = explain(
        folder, write_shard(folder, images, labels, "all"), spec, "sliding_window", params
    )
    alone = np.concatenate(
        [
            explain(
                folder,
                write_shard(folder, images[i : i + 1], labels[i : i + 1], f"one{i}"),
                spec,
                "sliding_window",
                params,
            )
            for i in range(len(images))
        ]
    )
    assert whole.tobytes() == alone.tobytes()


def sweep_jobs(folder: Path, shards: list[str], levels: list[str], tag: str, spec: dict) -> list:
    """Classify and explain ``shards`` (the copies of ``levels``) in one job each; the
    content of every file written (:func:`file_content`), kind by kind (predictions, probs,
    each method's maps), level within kind."""
    from salsweep.condition import Condition
    from salsweep.stages.classify import classify_sweep
    from salsweep.stages.saliency import explain_sweep

    conditions = [Condition("tiny", "sweep", level) for level in levels]
    common = dict(spec=spec, device="cpu", weights_path=None, deterministic=True, model="vit")
    predictions = [str(folder / f"{tag}-pred-{level}.parquet") for level in levels]
    probs = [str(folder / f"{tag}-probs-{level}.safetensors") for level in levels]
    classify_sweep(
        shards,
        str(folder / "classes.json"),
        predictions,
        conditions=conditions,
        batch_size=2,
        probs_paths=probs,
        **common,
    )
    written = predictions + probs
    for method, params in METHODS_WITH_RANDOMNESS.items():
        maps = [str(folder / f"{tag}-{method}-{level}.safetensors") for level in levels]
        explain_sweep(
            shards,
            predictions,
            str(folder / "classes.json"),
            maps,
            method=method,
            method_params=params,
            target_names=["truth", "pred"],
            batch_size=4,
            seed=7,
            dataset="tiny",
            **common,
        )
        written += maps
    return [file_content(Path(path)) for path in written]


def file_content(path: Path) -> bytes | tuple[dict, bytes]:
    """A file's bytes; for safetensors, its parsed header and its tensor bytes: the
    safetensors writer orders the metadata keys differently on every call."""
    data = path.read_bytes()
    if path.suffix != ".safetensors":
        return data
    size = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + size]), data[8 + size :]


# Seeded random draws: a job that carried a generator from one level to the next would differ.
METHODS_WITH_RANDOMNESS = {
    "rise": {"n": 8, "s": 2},
    "smoothgrad": {"nt_samples": 2},
    "sliding_window": {"window": 8, "stride": 8},
}


def test_a_sweep_job_writes_what_one_job_per_level_writes(tiny_shard, standins):
    """Issue 15: one classify or saliency job covers every level of a sweep (one model load);
    each level's files hold exactly what a job of that level alone writes (tables byte for
    byte; maps and probabilities tensor bytes and metadata)."""
    folder, images, labels = tiny_shard
    spec = {"source": "hf", "path": str(standins["vit"])}
    shards = [
        write_shard(folder, images, labels, "level1"),
        write_shard(folder, 255 - images, labels, "level2"),
    ]
    levels = ["1", "2"]
    together = sweep_jobs(folder, shards, levels, "sweep", spec)
    alone = [
        sweep_jobs(folder, [shard], [level], f"alone{level}", spec)
        for shard, level in zip(shards, levels, strict=True)
    ]
    # sweep_jobs lists files kind by kind, level within kind: interleave the one-level jobs.
    kinds = len(together) // len(shards)
    expected = [alone[level][kind] for kind in range(kinds) for level in range(len(shards))]
    assert len(together) == len(expected) == 2 * (2 + len(METHODS_WITH_RANDOMNESS))
    differ = [i for i, (a, b) in enumerate(zip(together, expected, strict=True)) if a != b]
    assert not differ, differ


# --- memory --------------------------------------------------------------------------------


def test_saliency_job_decodes_one_call_of_images_at_a_time(tiny_shard, standins, monkeypatch):
    """Images are decoded per explain() call, never the whole shard at once."""
    from salsweep import model_jobs

    folder, _, _ = tiny_shard
    images, labels = tiny_images(model_jobs.IMAGES_PER_CALL * 2 + 3, size=16, seed=4)
    decoded: list[int] = []
    decode_rows = model_jobs.decode_rows

    def counting(table, rows):
        decoded.append(len(rows))
        return decode_rows(table, rows)

    monkeypatch.setattr(model_jobs, "decode_rows", counting)
    spec = {"source": "hf", "path": str(standins["vit"])}
    maps = explain(
        folder, write_shard(folder, images, labels, "many"), spec, "vanilla_gradient", {}
    )
    assert maps.shape == (len(images), 2, 16, 16)
    assert decoded == [model_jobs.IMAGES_PER_CALL] * 2 + [3]


def test_rows_by_size_reads_sizes_without_decoding_and_decode_rows_stacks():
    from salsweep.model_jobs import decode_rows, rows_by_size

    small, _ = tiny_images(3, size=16)
    big, _ = tiny_images(2, size=24)
    order = [small[0], big[0], small[1], big[1], small[2]]
    table = pd.DataFrame({"image": [encode_png(image) for image in order]})
    groups = rows_by_size(table)
    assert [(hw, rows.tolist()) for hw, rows in groups] == [
        ((16, 16), [0, 2, 4]),
        ((24, 24), [1, 3]),
    ]
    assert np.array_equal(decode_rows(table, groups[1][1]), big)
    with pytest.raises(ValueError, match="image 1 has shape"):
        decode_rows(table, np.array([0, 1]))
