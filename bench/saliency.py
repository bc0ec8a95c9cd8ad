"""Saliency throughput benchmark (a script, not a test): `python bench/saliency.py`.

Prints maps/s per method on EfficientNet-Lite0 and a ViT-Tiny-sized ViT (random weights),
both at 224x224 unless --image-size says otherwise, and for the black-box methods two ratios:
  (a) the time of the method's forwards run raw (same count, same batch size) over the
      method's time (1.0 = no overhead on top of the forwards);
  (b) xaitk-saliency 0.15 time over ours (RISEStack / SlidingWindowStack), on the same
      model, images and masks, xaitk given a classifier wrapper batched at the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from salsweep.models import load_classifier  # noqa: E402
from salsweep.saliency import SALIENCY_METHODS, auto_batch_size  # noqa: E402

# Cheap enough for a 2-core CPU; the same arithmetic scales to the defaults.
METHODS = {
    "sliding_window": {"window": 0.25, "stride": 0.125, "fill": [0, 0, 0]},
    "rise": {"n": 200, "s": 8, "p1": 0.5},
    "rise_debiased": {"n": 200, "s": 8, "p1": 0.5},
    "vanilla_gradient": {},
    "smoothgrad": {"nt_samples": 10},
    "integrated_gradients": {"n_steps": 20},
    "smint": {"nt_samples": 2, "n_steps": 20},
    "gradcam": {},
    "mask_optimisation": {"steps": 20},
    "realtime_mask": {"train_steps": 20},
}


def photos(n: int, size: int = 224) -> np.ndarray:
    from salsweep.datasets import prepare_split
    from salsweep.io import decode_png

    split = prepare_split({"source": "bundled_photos", "image_size": size}, "eval", 0)
    return np.stack([decode_png(blob) for blob in split.table["image"][:n]])


MODELS = ("efficientnet_lite0", "vit_tiny")


def vit_tiny(device: torch.device, names: list[str], size: int):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    folder = Path(tempfile.mkdtemp()) / "vit_tiny"
    torch.manual_seed(0)
    config = ViTConfig(
        hidden_size=192,
        num_hidden_layers=12,
        num_attention_heads=3,
        intermediate_size=768,
        image_size=size,
        patch_size=16,
        num_labels=1000,
    )
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": size, "width": size}).save_pretrained(folder)
    return load_classifier(
        {"source": "hf", "path": str(folder), "label_match": "index"}, names, device
    )


def models(device: torch.device, chosen: tuple[str, ...] = MODELS, size: int = 224) -> dict:
    names = [str(i) for i in range(1000)]
    built = {}
    if "efficientnet_lite0" in chosen:
        built["efficientnet_lite0"] = load_classifier(
            {"source": "efficientnet_lite0"}, names, device
        )
    if "vit_tiny" in chosen:
        built["vit_tiny (random)"] = vit_tiny(device, names, size)
    return built


def comma_list(choices) -> Callable[[str], tuple[str, ...]]:
    """An argparse type: a comma-separated subset of ``choices``."""

    def parse(text: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in text.split(",") if item.strip())
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(choices)}"
            )
        return items

    return parse


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def rounds(fns: list, n: int) -> list[list[float]]:
    """Seconds of each function in ``n`` interleaved rounds, after one warm-up call each
    (allocations, lazy imports), so that drift in the machine's speed hits all of them."""
    for fn in fns:
        fn()
    return [[timed(fn) for fn in fns] for _ in range(n)]


def raw_forward_seconds(model, images: np.ndarray, batch: int, n_forwards: int):
    """A function running about ``n_forwards`` plain forwards (whole batches) of the same
    images, and the factor that scales its time to exactly ``n_forwards``."""
    x = torch.from_numpy(np.resize(images, (batch, *images.shape[1:]))).to(model.device)
    n_batches = max(1, round(n_forwards / batch))

    def run():
        with torch.inference_mode():
            for _ in range(n_batches):
                model(x)

    scale = n_forwards / (n_batches * batch)
    return run, scale


class BatchedBlackbox:
    """xaitk's classifier interface over our model, batching perturbed images like ours."""

    def __new__(cls, model, batch: int):
        from smqtk_classifier.interfaces.classify_image import ClassifyImage

        class _Box(ClassifyImage):
            def get_labels(self):
                return list(range(model.n_classes))

            def classify_images(self, img_iter):
                pending = []
                for img in img_iter:
                    pending.append(np.ascontiguousarray(img))
                    if len(pending) == batch:
                        yield from self._run(pending)
                        pending = []
                if pending:
                    yield from self._run(pending)

            def _run(self, imgs):
                x = torch.from_numpy(np.stack(imgs)).to(model.device)
                with torch.inference_mode():
                    conf = torch.softmax(model(x).float(), dim=1).cpu().numpy()
                for row in conf:
                    yield dict(enumerate(row.tolist()))

            def get_config(self):
                return {}

        return _Box()


def xaitk_runner(name: str, params: dict, model, images, batch: int, seed: int) -> float:
    from xaitk_saliency.impls.gen_image_classifier_blackbox_sal.rise import RISEStack
    from xaitk_saliency.impls.gen_image_classifier_blackbox_sal.slidingwindow import (
        SlidingWindowStack,
    )

    hw = images.shape[1:3]
    if name == "sliding_window":
        from salsweep.saliency.sliding_window import resolve_extent

        size = resolve_extent(params["window"], hw, "window")
        step = resolve_extent(params["stride"], hw, "stride")
        stack = SlidingWindowStack(window_size=size, stride=step, threads=0)
        stack.fill = params["fill"]
    else:
        stack = RISEStack(
            n=params["n"],
            s=params["s"],
            p1=params["p1"],
            seed=seed,
            threads=0,
            debiased=name == "rise_debiased",
        )
    box = BatchedBlackbox(model, batch)
    return lambda: [stack.generate(image, box) for image in images]


def trained_masker(model, images: np.ndarray, params: dict) -> str:
    """A masker file for the timing: its speed does not depend on how long it trained."""
    from salsweep.masker.model import save_masker
    from salsweep.masker.training import train_masker
    from salsweep.saliency.params import resolve_params

    resolved = resolve_params("realtime_mask", params)
    targets = np.zeros(len(images), dtype=np.int64)
    net, _ = train_masker(model, images, targets, resolved, seed=0)
    path = Path(tempfile.mkdtemp()) / "masker.safetensors"
    save_masker(net, path, layer=resolved["layer"], class_names=list(model.class_names))
    return str(path)


def forwards_per_image(name: str, params: dict, hw: tuple[int, int]) -> int:
    if name == "sliding_window":
        from salsweep.saliency import sliding_window as sw

        window = sw.resolve_extent(params["window"], hw, "window")
        stride = sw.resolve_extent(params["stride"], hw, "stride")
        return len(sw.sliding_window_masks(hw, window, stride)) + 1
    return params["n"] + 1


def precision_effect(device, images: np.ndarray, batch_size: str, args) -> None:
    """Distance of each black-box method's bf16 / fp16 maps from its fp32 maps, for each
    image's top-2 classes (a class the model gives ~0 would measure only rounding noise)."""
    print("| model | method | precision | max abs diff | mean abs diff | Pearson r | seconds |")
    print("|---|---|---|---|---|---|---|")
    hw = images.shape[1:3]
    for model_name, model in models(device, args.models, args.image_size).items():
        batch = auto_batch_size(model, hw, device) if batch_size == "auto" else int(batch_size)
        with torch.inference_mode():
            logits = model(torch.from_numpy(images).to(model.device))
        targets = logits.topk(2, dim=1).indices.cpu().numpy()
        for name, params in METHODS.items():
            cls = SALIENCY_METHODS.get(name)
            if name not in args.methods:
                continue
            if cls.family != "black-box" or name == "rise_debiased":
                continue  # rise_debiased: the same forwards as rise, other weights
            maps = {}
            for precision in ("fp32", "bf16", "fp16"):
                explainer = cls(seed=0, batch_size=batch, precision=precision, **params)
                start = time.perf_counter()
                maps[precision] = explainer.explain(model, images, targets)
                seconds = time.perf_counter() - start
                if precision == "fp32":
                    continue
                diff = np.abs(maps[precision] - maps["fp32"])
                r = np.corrcoef(maps[precision].ravel(), maps["fp32"].ravel())[0, 1]
                print(
                    f"| {model_name} | {name} | {precision} | {diff.max():.4f} | "
                    f"{diff.mean():.5f} | {r:.5f} | {seconds:.1f} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--rounds", type=int, default=3, help="timings per figure (median)")
    parser.add_argument(
        "--precision",
        choices=["fp32", "bf16", "fp16"],
        default="fp32",
        help="the black-box methods' forward precision (bf16 / fp16: torch.autocast)",
    )
    parser.add_argument(
        "--precision-effect",
        action="store_true",
        help="instead of the table: how far bf16 and fp16 maps are from fp32 maps",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=224,
        help="photo side in pixels (224 for the figures; a small one for a quick check)",
    )
    parser.add_argument(
        "--models",
        type=comma_list(MODELS),
        default=MODELS,
        help=f"comma-separated subset of {','.join(MODELS)} (default: both)",
    )
    parser.add_argument(
        "--methods",
        type=comma_list(tuple(METHODS)),
        default=tuple(METHODS),
        help="comma-separated subset of the methods (default: all)",
    )
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="JSON {method: params} replacing a method's parameters (a quick check: "
        '\'{"sliding_window": {"window": 0.5, "stride": 0.5, "fill": [0, 0, 0]}}\')',
    )
    args = parser.parse_args()
    METHODS.update(args.params)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    images = photos(args.images, args.image_size)
    targets = np.zeros((len(images), 2), dtype=np.int64)
    print(
        f"# salsweep saliency benchmark: {cpu_name()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    )
    print(
        f"# {len(images)} bundled photos at {args.image_size}x{args.image_size}, "
        "2 targets per image (maps = images x 2)"
    )
    print(
        f"# medians of {args.rounds} rounds; black-box rows interleave ours, the same number "
        "of raw forwards, and xaitk in each round"
    )
    print()
    if args.precision_effect:
        precision_effect(device, images, args.batch_size, args)
        return
    print("| model | method | params | batch | maps/s | (a) vs raw forwards | (b) vs xaitk |")
    print("|---|---|---|---|---|---|---|")
    hw = images.shape[1:3]
    for model_name, model in models(device, args.models, args.image_size).items():
        batch = (
            auto_batch_size(model, hw, device)
            if args.batch_size == "auto"
            else int(args.batch_size)
        )
        raw_run, scale = raw_forward_seconds(model, images, batch, 64)
        raw = 64 / (median(r[0] for r in rounds([raw_run], args.rounds)) * scale)
        print(f"| {model_name} | (raw forward) | | {batch} | {raw:.1f} img/s | | |")
        for name, params in METHODS.items():
            if name not in args.methods:
                continue
            if name == "realtime_mask":
                params = {**params, "masker_path": trained_masker(model, images, params)}
            cls = SALIENCY_METHODS.get(name)
            if cls.family == "black-box":
                params = {**params, "precision": args.precision}
            explainer = cls(seed=0, batch_size=batch, **params)

            def ours(explainer=explainer, model=model):
                # explain() itself chooses inference mode or gradients
                return explainer.explain(model, images, targets)

            ratio_raw = ratio_xaitk = ""
            if cls.family == "black-box":
                forwards = forwards_per_image(name, params, hw) * len(images)
                raw_run, scale = raw_forward_seconds(model, images, batch, forwards)
                theirs = xaitk_runner(name, params, model, images, batch, seed=0)
                times = rounds([ours, raw_run, theirs], args.rounds)
                seconds = median(r[0] for r in times)
                ratio_raw = f"{median(r[1] * scale / r[0] for r in times):.2f}"
                ratio_xaitk = f"{median(r[2] / r[0] for r in times):.2f}x"
            else:
                seconds = median(r[0] for r in rounds([ours], args.rounds))
            maps_per_s = targets.size / seconds
            shown = (
                ", ".join(f"{k}={v}" for k, v in params.items() if k != "masker_path") or "defaults"
            )
            print(
                f"| {model_name} | {name} | {shown} | {batch} | {maps_per_s:.2f} | "
                f"{ratio_raw} | {ratio_xaitk} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
