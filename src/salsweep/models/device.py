"""Device choice, seeding and determinism switches for model jobs.

Under SLURM (or any launcher that sets ``CUDA_VISIBLE_DEVICES``) a process sees only the
GPUs it was given, renumbered from 0, so ``"cuda"`` always means ``cuda:0`` of that list.
"""

from __future__ import annotations

import os
import random
import re

import numpy as np
import torch

DEVICE_SPECS = "'cpu', 'cuda', 'cuda:N' or 'auto'"


def resolve_device(spec: str) -> torch.device:
    """``"cpu"``, ``"cuda"`` (= ``cuda:0``), ``"cuda:N"`` or ``"auto"`` (cuda:0 if there is one)."""
    if not isinstance(spec, str):
        raise ValueError(f"device must be a string ({DEVICE_SPECS}), got {spec!r}")
    text = spec.strip().lower()
    if text == "auto":
        return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if match is None:
        raise ValueError(f"device must be {DEVICE_SPECS}, got {spec!r}")
    index = int(match.group(1) or 0)
    if not torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        hint = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
        raise ValueError(
            f"device {spec!r} was asked for but torch sees no CUDA device{hint}; "
            f"torch {torch.__version__} built with CUDA {torch.version.cuda}. Use 'cpu' or 'auto'."
        )
    count = torch.cuda.device_count()
    if index >= count:
        raise ValueError(
            f"device {spec!r}: this process sees {count} CUDA device(s), numbered 0..{count - 1} "
            "(a scheduler renumbers the GPUs it assigns from 0)"
        )
    return torch.device(f"cuda:{index}")


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's global and torch's (CPU and all CUDA) generators.

    Library code in salsweep takes explicit generators; this only tames third-party code
    that draws from the global ones.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % (1 << 32))  # noqa: NPY002 - third-party code uses the global state
    torch.manual_seed(seed)  # also seeds every CUDA device


def set_deterministic(flag: bool) -> None:
    """Ask torch for deterministic kernels (``flag=True``) or the fastest ones (``False``).

    - ``torch.use_deterministic_algorithms(flag, warn_only=True)``: warn_only because some
      backward kernels the saliency methods need have no deterministic CUDA version
      (e.g. the bilinear-resize and adaptive-pool backward); they warn instead of failing,
      so results on a GPU may still differ in the last bits between runs.
    - cuDNN: ``deterministic=flag`` and ``benchmark=not flag`` (autotuning picks kernels by
      timing, which varies from run to run).
    - ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` when turning it on, as cuBLAS needs for
      reproducible matmuls; it only takes effect if set before CUDA starts, so call this
      early. CPU kernels are deterministic for a fixed thread count either way.
    """
    flag = bool(flag)
    if flag:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(flag, warn_only=True)
    torch.backends.cudnn.deterministic = flag
    torch.backends.cudnn.benchmark = not flag
