"""A folder of real-world files, as a new user has one: the README's imagefolder example run
end to end, edits to local files rerunning the dataset, and missing paths refused at parse."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import (
    REPO,
    TINY_CLASSES,
    run_snakemake,
    tiny_study,
    write_config,
    write_tiny_parquet,
)
from PIL import Image

from salsweep.io import decode_png, read_table

pytestmark = pytest.mark.e2e

AGGREGATE = "results/tables/predictions.parquet"  # the aggregate rule: every table


def readme_imagefolder_example(data_dir: Path) -> tuple[str, dict]:
    """The README's imagefolder dataset entry, as written, pointed at ``data_dir``."""
    readme = (REPO / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if "path: imagefolder" in ln)
    ((name, spec),) = yaml.safe_load(line).items()
    assert spec["data_dir"] == "/data/images"  # the example's placeholder
    return name, {**spec, "data_dir": str(data_dir)}


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def flat(height: int, width: int, rgb: tuple[int, int, int]) -> Image.Image:
    return Image.fromarray(np.full((height, width, 3), rgb, dtype=np.uint8))


def phone_photo() -> bytes:
    """A JPEG stored 40 wide x 16 high, dark left and bright right, with EXIF orientation 6
    (turn 90 degrees clockwise to view): seen upright it is dark on top, bright below."""
    stored = np.zeros((16, 40, 3), dtype=np.uint8)
    stored[:, 20:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())


def messy_folder(root: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """An imagefolder (class = folder name) of odd but usable files in mixed sizes, and broken
    ones. Returns the kept files and rejected file -> reason pattern (paths below ``root``)."""
    gray16 = Image.fromarray(np.full((16, 32), 100 * 257, dtype=np.uint16))
    assert gray16.mode.startswith("I;16")
    whole = encoded(flat(20, 20, (10, 200, 30)))
    kept = {
        "circle/phone.jpg": phone_photo(),
        "circle/plain.png": encoded(flat(24, 24, (200, 40, 40))),
        "circle/cmyk.jpg": encoded(flat(30, 20, (40, 120, 220)).convert("CMYK"), "JPEG"),
        "square/gray16.png": encoded(gray16),
        "square/palette.png": encoded(flat(16, 16, (250, 250, 0)).convert("P")),
        "square/plain.png": encoded(flat(20, 30, (90, 90, 90))),
        "stripes/plain.png": whole,
    }
    rejected = {
        "stripes/truncated.png": (whole[: len(whole) // 2], "undecodable"),
        "stripes/empty.png": (b"", "empty"),
        "stripes/notes.jpg": (b"not an image, only named like one", "cannot identify"),
    }
    files = {**kept, **{name: data for name, (data, _) in rejected.items()}}
    files["notes.txt"] = b"not an image extension: imagefolder does not read it"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return kept, {name: pattern for name, (_, pattern) in rejected.items()}


def folder_study(standins: dict, name: str, spec: dict) -> dict:
    config = tiny_study(
        standins,
        datasets={name: spec},
        perturbations={"gaussian_blur": {"levels": [3]}},
        saliency={"targets": ["truth", "pred"], "methods": {"vanilla_gradient": {}}},
    )
    config["models"] = {"vit": {**config["models"]["vit"], "datasets": [name]}}
    return config


def test_readme_imagefolder_example_runs_on_a_messy_folder(tmp_path, standins):
    kept, rejected = messy_folder(tmp_path / "images")
    name, spec = readme_imagefolder_example(tmp_path / "images")
    config = folder_study(standins, name, spec)
    run_snakemake(tmp_path, write_config(tmp_path, config), "--cores", "2", AGGREGATE)
    n_read = len(kept) + len(rejected)  # notes.txt is not an image file: not read

    rejects = pd.read_parquet(tmp_path / "results" / "tables" / "rejects.parquet")
    assert list(rejects.columns) == ["dataset", "split", "image_id", "source", "reason"]
    assert set(rejects["dataset"]) == {name} and set(rejects["split"]) == {"eval"}
    reasons = dict(zip(rejects["source"], rejects["reason"], strict=True))
    assert set(reasons) == set(rejected)  # every reject names its file
    for source, pattern in rejected.items():
        assert pattern in reasons[source], (source, reasons[source])

    table = read_table(tmp_path / "results" / "datasets" / name / "eval.parquet")
    assert sorted(table["source"]) == sorted(kept)
    images = {s: decode_png(blob) for s, blob in zip(table["source"], table["image"], strict=True)}
    size = spec["image_size"]
    assert {image.shape for image in images.values()} == {(size, size, 3)}
    classes = [TINY_CLASSES.index(source.split("/")[0]) for source in table["source"]]
    assert table["label"].tolist() == classes
    phone = images["circle/phone.jpg"].astype(float)  # upright: dark on top, bright below
    half = size // 2
    assert phone[: half - 8].mean() < 30 and phone[half + 8 :].mean() > 225
    assert (
        np.abs(images["circle/cmyk.jpg"][size // 2, size // 2].astype(int) - (40, 120, 220)).max()
        < 12
    )
    assert (images["square/gray16.png"] == 100).all()

    predictions = pd.read_parquet(tmp_path / "results" / "tables" / "predictions.parquet")
    clean = predictions[predictions["perturbation"] == "clean"]
    assert set(clean["image_id"]) == set(table["image_id"])
    assert len(clean) + len(rejects) == n_read  # read = kept + rejected
    log = (tmp_path / "results" / "logs" / "dataset" / f"{name}.log").read_text()
    assert f"{len(kept)} images kept + {len(rejected)} rejected = {n_read} read" in log


def dry_run_outputs(workdir: Path, configfile: Path, targets: list[str]) -> list[str]:
    """The outputs of the jobs a dry run plans (empty: nothing to be done)."""
    result = run_snakemake(workdir, configfile, "-n", "--cores", "1", *targets)
    return re.findall(r"^\s*output: (.+)$", result.stdout, flags=re.MULTILINE)


def age_outputs(workdir: Path, dataset: str) -> None:
    """Date a dataset's outputs a minute back, so an edit made now is clearly newer."""
    stamp = time.time() - 60
    for path in (workdir / "results" / "datasets" / dataset).iterdir():
        os.utime(path, (stamp, stamp))


def test_adding_or_editing_a_local_file_reruns_the_dataset(tmp_path, standins):
    images = tmp_path / "images"
    for index, cls in enumerate(TINY_CLASSES):
        (images / cls).mkdir(parents=True)
        flat(16, 16, (40 * index, 90, 90)).save(images / cls / "a.png")
    table = tmp_path / "tables" / "test.parquet"
    table.parent.mkdir()
    table.write_bytes(Path(standins["parquet"]).read_bytes())
    config = folder_study(
        standins, "folder", {"source": "hf", "path": "imagefolder", "data_dir": str(images)}
    )
    config["datasets"]["folder"]["split"] = "train"
    config["datasets"]["table"] = {
        "source": "hf",
        "path": "parquet",
        "data_files": {"test": str(table)},
    }
    config["models"]["vit"]["datasets"] = ["folder", "table"]
    configfile = write_config(tmp_path, config)
    folder_out, table_out = (f"results/datasets/{d}/eval.parquet" for d in ("folder", "table"))
    targets = [folder_out, table_out]
    run_snakemake(tmp_path, configfile, "--cores", "1", *targets)
    assert dry_run_outputs(tmp_path, configfile, targets) == []

    flat(16, 16, (1, 2, 3)).save(images / "circle" / "b.png")  # a new file
    planned = dry_run_outputs(tmp_path, configfile, targets)
    assert any(folder_out in line for line in planned) and not any(table_out in p for p in planned)
    run_snakemake(tmp_path, configfile, "--cores", "1", *targets)
    assert len(read_table(tmp_path / folder_out)) == 4

    age_outputs(tmp_path, "folder")
    flat(16, 16, (9, 9, 9)).save(images / "square" / "a.png")  # an edited file
    assert any(folder_out in line for line in dry_run_outputs(tmp_path, configfile, targets))
    run_snakemake(tmp_path, configfile, "--cores", "1", *targets)

    age_outputs(tmp_path, "table")
    write_tiny_parquet(table, n=5)  # a changed data_files parquet
    planned = dry_run_outputs(tmp_path, configfile, targets)
    assert any(table_out in line for line in planned) and not any(folder_out in p for p in planned)
    run_snakemake(tmp_path, configfile, "--cores", "1", *targets)
    assert len(read_table(tmp_path / table_out)) == 5


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"path": "imagefolder", "data_dir": "no_such_folder", "split": "train"}, "data_dir"),
        (
            {"path": "parquet", "data_files": {"test": "missing.parquet"}, "split": "test"},
            "data_files",
        ),
    ],
)
def test_missing_local_paths_fail_before_any_job(tmp_path, standins, spec, key):
    config = folder_study(standins, "mine", {"source": "hf", **spec})
    result = run_snakemake(tmp_path, write_config(tmp_path, config), "--cores", "1", check=False)
    assert result.returncode != 0
    assert "config key 'datasets.mine'" in result.stderr and f"'{key}'" in result.stderr
    assert not (tmp_path / "results" / "datasets").exists()  # no job ran
