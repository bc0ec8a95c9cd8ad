"""Peak memory of one saliency job against the number of images in its shard.

    PYTHONPATH=src python bench/memory.py [--sizes 500 2000] [--side 64] [--n-masks 100]

Builds a shard of sklearn digits (upscaled to --side px, repeated to the largest size; ids
stay unique) with predictions, classes and a small CNN trained for one epoch, then runs
``salsweep.stages.saliency.explain_sweep`` with RISE on one level per shard size, each in a
fresh process. Printed per size: the RSS after loading everything but the images ("base"), the
peak RSS of the job after that, their difference, and the two arrays that must grow with
N: the output maps [N, T, H, W] float32 (held whole, then written to one safetensors file)
and, for reference, all N images decoded at once (uint8). ``--decode-all`` patches the job
back to decoding its whole shard up front (the old way), to compare with per-call decoding.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS = ["truth", "pred"]


def peak_rss_mb() -> float:
    """This process's peak RSS since start or :func:`reset_peak` (VmHWM).

    ``getrusage().ru_maxrss`` would do on a fresh process, but Linux carries it over fork
    and exec, so a job started from the (larger) parent would report the parent's peak.
    """
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def reset_peak() -> None:
    """Restart the peak at the current RSS (Linux >= 4.0), so it measures what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def digit_images(n: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """n RGB uint8 digits upscaled (nearest) to side x side; the 1797 digits repeat."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = (digits.images * (255 / 16)).round().astype(np.uint8)
    index = np.arange(n) % len(small)
    images = np.empty((n, side, side, 3), dtype=np.uint8)
    for i, k in enumerate(index):
        up = np.asarray(Image.fromarray(small[k]).resize((side, side), Image.Resampling.NEAREST))
        images[i] = up[..., None]
    return images, digits.target[index].astype(np.int64)


def build(folder: Path, sizes: list[int], side: int) -> None:
    """Shards of each size, predictions, classes.json and CNN weights in ``folder``."""
    import pandas as pd

    from salsweep.io import encode_png, write_json, write_table
    from salsweep.models.small_cnn import save_small_cnn
    from salsweep.models.training import train_small_cnn

    n = max(sizes)
    images, labels = digit_images(n, side)
    classes = [str(d) for d in range(10)]
    ids = [f"img-{i:05d}" for i in range(n)]
    table = pd.DataFrame(
        {
            "image_id": ids,
            "image": [encode_png(image) for image in images],
            "label": labels,
            "mask": pd.Series([None] * n, dtype=object),
        }
    )
    for size in sizes:
        write_table(table.iloc[:size], folder / f"shard-{size}.parquet")
    write_json(classes, folder / "classes.json")
    train, train_labels = digit_images(500, side)
    model, _ = train_small_cnn(
        train[:400], train_labels[:400], train[400:], train_labels[400:], classes, epochs=1, width=8
    )
    save_small_cnn(model, folder / "cnn.safetensors")
    # Predictions only feed the "pred" target; the label stands in for it here.
    write_table(
        pd.DataFrame({"image_id": ids, "label": labels, "pred": labels}),
        folder / "predictions.parquet",
    )


def job(folder: Path, n: int, n_masks: int, decode_all: bool) -> dict:
    """One saliency job on the first n images (run in a fresh process)."""
    from safetensors import safe_open

    from salsweep import model_jobs
    from salsweep.model_jobs import load_job_classifier
    from salsweep.stages import saliency

    shard = folder / f"shard-{n}.parquet"
    spec = {"source": "train"}
    weights = str(folder / "cnn.safetensors")
    # Import and load everything the job needs, then measure the base.
    load_job_classifier(
        spec, str(folder / "classes.json"), "cpu", weights, True, dataset="digits", model="cnn"
    )
    from salsweep.saliency import SALIENCY_METHODS  # noqa: F401 - registers the methods

    if decode_all:  # the old behaviour: every image of the shard decoded up front
        from salsweep.io import decode_images

        decoded = {}
        rows_by_size = model_jobs.rows_by_size

        def decode_everything(table):
            decoded["all"] = np.stack(decode_images(table["image"]))
            return rows_by_size(table)

        model_jobs.rows_by_size = decode_everything
        model_jobs.decode_rows = lambda _table, rows: decoded["all"][rows]
    base = current_rss_mb()
    reset_peak()
    started = time.perf_counter()
    saliency.explain_sweep(
        [str(shard)],
        [str(folder / "predictions.parquet")],
        str(folder / "classes.json"),
        [str(folder / f"maps-{n}.safetensors")],
        method="rise",
        method_params={"n": n_masks, "s": 8, "p1": 0.5},
        target_names=TARGETS,
        spec=spec,
        device="cpu",
        weights_path=weights,
        batch_size="auto",
        seed=0,
        deterministic=True,
        threads=1,
        dataset="digits",
        model="cnn",
    )
    seconds = time.perf_counter() - started
    with safe_open(str(folder / f"maps-{n}.safetensors"), framework="numpy") as handle:
        shape = handle.get_slice("maps").get_shape()  # the header only
    return {
        "n": n,
        "seconds": round(seconds, 1),
        "base_mb": round(base, 1),
        "peak_mb": round(peak_rss_mb(), 1),
        "maps_mb": round(4 * np.prod(shape) / 2**20, 1),
        "decoded_mb": round(n * shape[2] * shape[3] * 3 / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--side", type=int, default=64, help="image side in px")
    parser.add_argument("--n-masks", type=int, default=100, help="RISE masks per image")
    parser.add_argument(
        "--decode-all", action="store_true", help="decode the whole shard up front (old way)"
    )
    parser.add_argument("--job", help=argparse.SUPPRESS)  # internal: folder of one job
    args = parser.parse_args()
    if args.job:
        print(json.dumps(job(Path(args.job), args.sizes[0], args.n_masks, args.decode_all)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder, args.sizes, args.side)
        how = "whole shard decoded up front" if args.decode_all else "decoded per call"
        print(f"RISE n={args.n_masks}, {args.side}px images {how}, targets {TARGETS}, CPU")
        header = f"{'images':>7} {'seconds':>8} {'base MB':>8} {'peak MB':>8} "
        print(header + f"{'peak-base':>9} {'maps MB':>8} {'decoded MB':>10}")
        for n in args.sizes:
            command = [sys.executable, __file__, "--job", tmp, "--sizes", str(n)]
            command += ["--n-masks", str(args.n_masks)] + ["--decode-all"] * args.decode_all
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            growth = row["peak_mb"] - row["base_mb"]
            print(
                f"{row['n']:>7} {row['seconds']:>8} {row['base_mb']:>8} {row['peak_mb']:>8} "
                f"{growth:>9.1f} {row['maps_mb']:>8} {row['decoded_mb']:>10}"
            )


if __name__ == "__main__":
    main()
