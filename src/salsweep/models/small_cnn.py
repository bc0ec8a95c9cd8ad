"""A small CNN trained by the pipeline on small images (e.g. sklearn digits), and its files.

Architecture (``width`` = w): three conv blocks (3x3 conv, BatchNorm, ReLU) with
w, 2w, 2w channels; 2x2 max-pool after the first two; global average pool; linear.
The first conv has stride ``stem_stride`` = max(1, min(H, W) // 16), chosen from the
training image size, so a 32x32 image costs about what a 16x16 one does (8x8 digits
upscaled to 32x32 carry no more detail) while 8..31 px images keep full resolution.

Inputs are resized (bilinear, antialiased) to the training size, scaled to 0..1 and
normalised by per-channel mean/std of the training set, stored with the weights.
Files are safetensors only: weights and the normalisation stats as tensors, the
architecture and class names in the metadata. Pickle checkpoints are refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import torch
from torch import nn

from salsweep.io import atomic_path
from salsweep.models.base import MODELS, Classifier
from salsweep.models.preprocess import normalize, resize, to_nchw
from salsweep.params import Integer, Number, Param, Plugin

PARAMS = {
    "train": Plugin(
        "A small CNN trained in the DAG (rule train).",
        {
            "seed": Param(0, "Training seed.", Integer(0, 2**63 - 1)),
            "epochs": Param(15, "Training epochs.", Integer(1, 1000)),
            "batch_size": Param(64, "Training batch size.", Integer(1, 65536)),
            "lr": Param(1e-3, "Adam learning rate.", Number(0, 1, low_open=True)),
            "width": Param(
                32, "Channels of the first conv block (later blocks double it).", Integer(4, 512)
            ),
            # fixed -> the same weights on any machine
            "threads": Param(1, "CPU training threads (0 = torch's setting).", Integer(0, 1024)),
        },
    )
}

FILE_FORMAT = "salsweep-small-cnn"
FILE_VERSION = "1"
MIN_SIZE = 8


def stem_stride_for(height: int, width: int) -> int:
    """Stride of the first conv for images of this size (see the module doc)."""
    return max(1, min(height, width) // 16)


def conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


@MODELS.register("train")
class SmallCNN(Classifier):
    """The trained small CNN; ``gradcam_layer`` is the last conv block (``block3``)."""

    def __init__(
        self,
        class_names: list[str],
        *,
        input_size: Sequence[int],
        width: int = 32,
        stem_stride: int | None = None,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.5, 0.5, 0.5),
    ) -> None:
        super().__init__(class_names)
        height, width_px = (int(v) for v in input_size)
        if min(height, width_px) < MIN_SIZE:
            raise ValueError(f"small CNN input_size must be >= {MIN_SIZE} px, got {input_size}")
        if not isinstance(width, int) or not 4 <= width <= 512:
            raise ValueError(f"small CNN width must be an int in [4, 512], got {width!r}")
        if self.n_classes < 2:
            raise ValueError(f"small CNN needs >= 2 classes, got {self.n_classes}")
        self.input_size = (height, width_px)
        self.width = width
        self.stem_stride = stem_stride or stem_stride_for(height, width_px)
        self.block1 = conv_block(3, width, self.stem_stride)
        self.pool1 = nn.MaxPool2d(2, ceil_mode=True)
        self.block2 = conv_block(width, 2 * width)
        self.pool2 = nn.MaxPool2d(2, ceil_mode=True)
        self.block3 = conv_block(2 * width, 2 * width)
        self.fc = nn.Linear(2 * width, self.n_classes)
        self.register_buffer("mean", torch.tensor([float(v) for v in mean], dtype=torch.float32))
        self.register_buffer("std", torch.tensor([float(v) for v in std], dtype=torch.float32))
        if self.mean.shape != (3,) or self.std.shape != (3,) or bool((self.std <= 0).any()):
            raise ValueError(f"small CNN mean/std must be 3 values, std > 0; got {mean}, {std}")
        self.to(memory_format=torch.channels_last)

    def arch(self) -> dict:
        """What is needed besides the tensors to rebuild this network."""
        return {
            "input_size": list(self.input_size),
            "width": self.width,
            "stem_stride": self.stem_stride,
        }

    def input_hw(self, image_hw: tuple[int, int]) -> tuple[int, int]:
        return self.input_size

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        x = resize(to_nchw(images), self.input_size, "bilinear") / 255.0
        x = normalize(x, self.mean, self.std).contiguous(memory_format=torch.channels_last)
        x = self.pool1(self.block1(x))
        x = self.pool2(self.block2(x))
        x = self.block3(x)
        return self.fc(x.mean(dim=(2, 3)))

    def gradcam_layer(self) -> nn.Module:
        return self.block3

    def classification_layer(self) -> nn.Module:
        return self.fc


def save_small_cnn(model: SmallCNN, path: str | os.PathLike) -> None:
    """Write weights + normalisation stats (tensors) and architecture (metadata), atomically."""
    from safetensors.torch import save_file

    if not isinstance(model, SmallCNN):
        raise ValueError(f"save_small_cnn needs a SmallCNN, got {type(model).__name__}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "arch": json.dumps(model.arch(), sort_keys=True),
        "class_names": json.dumps(model.class_names),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def load_small_cnn(path: str | os.PathLike, device: torch.device | str = "cpu") -> SmallCNN:
    """Load a file written by :func:`save_small_cnn`; anything else (a pickle) is refused."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(
            f"{path} is not a safetensors small-CNN file ({error}); "
            "pickle checkpoints (.pt/.pth/.pkl) are refused for safety"
        ) from None
    if metadata.get("format") != FILE_FORMAT:
        raise ValueError(f"{path} is a safetensors file but not a {FILE_FORMAT} file")
    if metadata.get("version") != FILE_VERSION:
        raise ValueError(f"{path}: unsupported {FILE_FORMAT} version {metadata.get('version')!r}")
    arch = json.loads(metadata["arch"])
    model = SmallCNN(
        json.loads(metadata["class_names"]),
        input_size=arch["input_size"],
        width=int(arch["width"]),
        stem_stride=int(arch["stem_stride"]),
    )
    model.load_state_dict(tensors, strict=True)
    return model.to(device).eval()
