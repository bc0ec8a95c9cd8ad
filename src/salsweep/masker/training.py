"""Training the masking network of ``realtime_mask`` on a frozen classifier.

Objective: ``salsweep.masker.objective`` for the (model-index) class of each image, with the
paper's fake-label trick: a fraction ``fake_fraction`` of the samples (0.3 in the paper's
second phase) get a random wrong class, and for those only the area term counts, so that
the masker learns to keep nothing for a class that is not in the image. Adam with
learning rate ``train_lr``, ``train_steps`` steps of ``train_batch_size`` images (epochs of
a seeded permutation). The paper's first phase (training the class selector alone) is
left out: a small masker trained from scratch learns both together.

Reproducible: the network init runs under a forked torch RNG seeded with ``seed``; batch
order, fake labels and noise come from one ``torch.Generator`` seeded with it. The
classifier is frozen (no gradient to its weights; its ``requires_grad`` flags are restored).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from salsweep.masker.model import FeatureTap, MaskerNet, n_up_blocks, normalise_images
from salsweep.masker.objective import Weights, blurred, mask_terms, noise_images, upsample
from salsweep.progress import progress

log = logging.getLogger(__name__)

# Features are computed once for all training images when they take at most this much memory.
FEATURE_CACHE_BYTES = 512 * 2**20
FEATURE_CHUNK = 64
# At most this many loss lines in a job's log.
MAX_LOSS_LINES = 20


def _features(tap: FeatureTap, images: torch.Tensor, index: torch.Tensor) -> torch.Tensor | None:
    out = [tap(images[chunk].float()) for chunk in index.split(FEATURE_CHUNK)]
    return None if out[0] is None else torch.cat(out)


def train_masker(
    classifier: torch.nn.Module,
    images: np.ndarray,
    targets: np.ndarray,
    params: dict,
    *,
    seed: int,
) -> tuple[MaskerNet, dict]:
    """Train on uint8 images [N, H, W, 3] and their model class indices [N].

    ``params``: the resolved ``realtime_mask`` parameters. Returns the network (eval mode)
    and metrics: ``seconds``, ``steps``, ``n_train``, ``loss_first`` / ``loss_last`` (mean
    over the first / last 10% of steps), and over the last 10% of steps for the real
    targets ``area_real``, ``keep_prob`` (f_c of the preserved image), ``destroy_prob``,
    and ``area_fake`` for the fake ones; ``feature_shape``, ``mask_grid``.
    """
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or not len(images):
        raise ValueError(f"masker training images must be uint8 [N>0, H, W, 3], got {images.shape}")
    n_classes = int(classifier.n_classes)
    targets = np.asarray(targets, dtype=np.int64)
    if targets.shape != (len(images),) or targets.min() < 0 or targets.max() >= n_classes:
        raise ValueError(
            f"masker training targets must be {len(images)} classes in 0..{n_classes - 1}"
        )
    started = time.perf_counter()
    device = classifier.device
    weights = Weights.from_params(params)
    hw = tuple(images.shape[1:3])
    batch_size = min(int(params["train_batch_size"]), len(images))
    steps = int(params["train_steps"])

    pixels = torch.from_numpy(images).to(device)
    labels = torch.from_numpy(targets).to(device)
    tap = FeatureTap(classifier, params["layer"])
    probe = tap(pixels[:1].float())
    feature_shape = None if probe is None else list(probe.shape[1:])
    cache = None
    if probe is not None and probe[0].numel() * 4 * len(images) <= FEATURE_CACHE_BYTES:
        cache = _features(tap, pixels, torch.arange(len(images), device=device))
    if probe is None:  # the net's own encoder: three stride-2 convs
        feature_hw = tuple(max(1, -(-side // 8)) for side in hw)
    else:
        feature_hw = tuple(probe.shape[-2:])
    blocks = n_up_blocks(feature_hw, hw)

    fork = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork):
        torch.manual_seed(seed)
        channels = None if probe is None else int(probe.shape[1])
        net = MaskerNet(n_classes, channels, width=int(params["width"]), n_blocks=blocks)
    net = net.to(device).train()
    optimiser = torch.optim.Adam(net.parameters(), lr=float(params["train_lr"]))
    generator = torch.Generator().manual_seed(seed)

    grad_mode = torch.is_grad_enabled()
    frozen = [p.requires_grad for p in classifier.parameters()]
    for p in classifier.parameters():
        p.requires_grad_(False)
    history: list[dict[str, float]] = []
    order = torch.empty(0, dtype=torch.int64)
    # The loss is logged once per epoch (a pass's worth of steps: batches come from a running
    # permutation), or per several epochs on a small set, so the log stays short.
    steps_per_line = max(len(images) // batch_size, -(-steps // MAX_LOSS_LINES), 1)
    done = progress(steps * batch_size, "masker trained on", log)
    try:
        torch.set_grad_enabled(True)
        for step in range(steps):
            if len(order) < batch_size:
                order = torch.cat([order, torch.randperm(len(images), generator=generator)])
            index, order = order[:batch_size].to(device), order[batch_size:]
            x = pixels[index].float()
            true = labels[index]
            draw = torch.rand(len(index), generator=generator)
            fake = (draw < params["fake_fraction"]).to(device)
            shift = torch.randint(1, n_classes, (len(index),), generator=generator).to(device)
            target = torch.where(fake, (true + shift) % n_classes, true)
            if params["alternative"] == "blur":
                alternative = blurred(x, params["blur_sigma"])
            else:
                alternative = noise_images(generator, len(index), hw, device)
            features = cache[index] if cache is not None else tap(x)
            grid = net(features, normalise_images(x), target)
            real = ~fake
            loss = torch.zeros((), device=device)
            record = {}
            if bool(real.any()):
                terms = mask_terms(
                    classifier, x[real], alternative[real], grid[real], target[real], weights
                )
                loss = loss + terms.total.sum()
                record.update(
                    area_real=float(terms.area.detach().mean()),
                    keep_prob=float(torch.exp(-terms.keep.detach()).mean()),
                    destroy_prob=float(terms.destroy.detach().mean()),
                )
            if bool(fake.any()):
                area_fake = upsample(grid[fake], hw).mean(dim=(1, 2))
                loss = loss + weights.area * area_fake.sum()
                record["area_fake"] = float(area_fake.detach().mean())
            loss = loss / len(index)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            record["loss"] = float(loss.detach())
            history.append(record)
            done.update(len(index))
            if (step + 1) % steps_per_line == 0 or step + 1 == steps:
                first = step // steps_per_line * steps_per_line
                log.info(
                    "steps %d-%d of %d (%.1f epochs): mean loss %.6f",
                    first + 1,
                    step + 1,
                    steps,
                    (step + 1 - first) * batch_size / len(images),
                    np.mean([row["loss"] for row in history[first:]]),
                )
    finally:
        done.close()
        torch.set_grad_enabled(grad_mode)
        for p, flag in zip(classifier.parameters(), frozen, strict=True):
            p.requires_grad_(flag)
    net.eval()

    tail = max(1, steps // 10)

    def mean_of(key: str, rows: list[dict[str, float]]) -> float | None:
        values = [row[key] for row in rows if key in row]
        return round(float(np.mean(values)), 6) if values else None

    with torch.no_grad():
        grid = net(probe, normalise_images(pixels[:1].float()), labels[:1])
    metrics = {
        "seconds": round(time.perf_counter() - started, 3),
        "steps": steps,
        "n_train": int(len(images)),
        "batch_size": batch_size,
        "loss_first": mean_of("loss", history[:tail]),
        "loss_last": mean_of("loss", history[-tail:]),
        "area_real": mean_of("area_real", history[-tail:]),
        "area_fake": mean_of("area_fake", history[-tail:]),
        "keep_prob": mean_of("keep_prob", history[-tail:]),
        "destroy_prob": mean_of("destroy_prob", history[-tail:]),
        "feature_shape": feature_shape,
        "mask_grid": list(grid.shape[-2:]),
    }
    log.info("masker trained: %s", metrics)
    return net, metrics
