"""Saliency throughput benchmark (a script, not a test): `python bench/saliency.py`.

Prints maps/s per method on EfficientNet-Lite0 (224x224) and a ViT-Tiny-sized ViT (random
weights, 224x224), and for the black-box methods two ratios:
  (a) our forwards/s inside the method over the model's raw forward throughput at the same
      batch size (1.0 = no overhead on top of the forwards);
  (b) xaitk-saliency 0.15 time over ours (RISEStack / SlidingWindowStack), on the same
      model, images and masks, xaitk given a classifier wrapper batched at the same size.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

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
}


def photos(n: int) -> np.ndarray:
    from salsweep.datasets import prepare_split
    from salsweep.io import decode_png

    split = prepare_split({"source": "bundled_photos", "image_size": 224}, "eval", 0)
    return np.stack([decode_png(blob) for blob in split.table["image"][:n]])


def models(device: torch.device) -> dict:
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    names = [str(i) for i in range(1000)]
    folder = Path(tempfile.mkdtemp()) / "vit_tiny"
    torch.manual_seed(0)
    config = ViTConfig(
        hidden_size=192,
        num_hidden_layers=12,
        num_attention_heads=3,
        intermediate_size=768,
        image_size=224,
        patch_size=16,
        num_labels=1000,
    )
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 224, "width": 224}).save_pretrained(folder)
    return {
        "efficientnet_lite0": load_classifier({"source": "efficientnet_lite0"}, names, device),
        "vit_tiny (random)": load_classifier(
            {"source": "hf", "path": str(folder), "label_match": "index"}, names, device
        ),
    }


def timed(fn, repeat: int = 1) -> float:
    fn()  # warm-up (allocations, lazy imports)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeat


def raw_forwards_per_s(model, images: np.ndarray, batch: int, n: int = 64) -> float:
    x = torch.from_numpy(np.resize(images, (batch, *images.shape[1:]))).to(model.device)

    def run():
        with torch.inference_mode():
            for _ in range(max(1, n // batch)):
                model(x)

    return max(1, n // batch) * batch / timed(run)


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


def xaitk_seconds(name: str, params: dict, model, images, batch: int, seed: int) -> float:
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
    return timed(lambda: [stack.generate(image, box) for image in images])


def forwards_per_image(name: str, params: dict, hw: tuple[int, int]) -> int:
    if name == "sliding_window":
        from salsweep.saliency import sliding_window as sw

        window = sw.resolve_extent(params["window"], hw, "window")
        stride = sw.resolve_extent(params["stride"], hw, "stride")
        return len(sw.sliding_window_masks(hw, window, stride)) + 1
    return params["n"] + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    images = photos(args.images)
    targets = np.zeros((len(images), 2), dtype=np.int64)
    print(
        f"# salsweep saliency benchmark: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    )
    print(f"# {len(images)} bundled photos at 224x224, 2 targets per image (maps = images x 2)")
    print()
    print("| model | method | params | batch | maps/s | (a) vs raw forwards | (b) vs xaitk |")
    print("|---|---|---|---|---|---|---|")
    for model_name, model in models(device).items():
        batch = (
            auto_batch_size(model, (224, 224), device)
            if args.batch_size == "auto"
            else int(args.batch_size)
        )
        raw = raw_forwards_per_s(model, images, batch)
        print(f"| {model_name} | (raw forward) | | {batch} | {raw:.1f} img/s | 1.00 | |")
        for name, params in METHODS.items():
            explainer = SALIENCY_METHODS.get(name)(seed=0, batch_size=batch, **params)
            cls = SALIENCY_METHODS.get(name)

            def run(explainer=explainer, cls=cls, model=model):
                if cls.needs_gradients:
                    return explainer.explain(model, images, targets)
                with torch.inference_mode():
                    return explainer.explain(model, images, targets)

            seconds = timed(run)
            maps_per_s = targets.size / seconds
            ratio_raw = ratio_xaitk = ""
            if cls.family == "black-box":
                forwards = forwards_per_image(name, params, (224, 224)) * len(images)
                ratio_raw = f"{forwards / seconds / raw:.2f}"
                theirs = xaitk_seconds(name, params, model, images, batch, seed=0)
                ratio_xaitk = f"{theirs / seconds:.2f}x"
            shown = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
            print(
                f"| {model_name} | {name} | {shown} | {batch} | {maps_per_s:.2f} | "
                f"{ratio_raw} | {ratio_xaitk} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
