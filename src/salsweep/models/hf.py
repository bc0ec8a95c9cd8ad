"""Image classifiers from Hugging Face transformers (local folder or cached hub id).

The model's own image processor config (size, crop, rescale, mean/std, resample) is read
once and replayed in torch, so gradients reach the input pixels. Class names come from the
model's ``id2label``; :func:`salsweep.models.labels.align_labels` maps dataset labels onto
them.

Supported preprocessing (what transformers' PIL processors do):
- ``size`` {height, width}: resize to that size;
- ``size`` {shortest_edge} (+ ``crop_size`` if ``do_center_crop``): keep the aspect ratio;
- ConvNeXt processors: below 384 resize the shortest edge to ``int(size / crop_pct)`` and
  center crop ``size``; at 384 or more warp to ``size`` x ``size``.
Resizing in torch is antialiased like PIL's but not bit-identical (PIL also rounds to uint8
in between); images already at the model's input size skip resizing altogether.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from salsweep.models.base import MODELS, Classifier
from salsweep.models.preprocess import center_crop, normalize, resize, shortest_edge_size, to_nchw
from salsweep.params import Boolean, OneOf, Param, Plugin, Text

PARAMS = {
    "hf": Plugin(
        "AutoModelForImageClassification + AutoImageProcessor from a hub id or a local folder.",
        {
            "path": Param(
                None,
                "Local folder or hub id (hub ids need the files in the local HF cache when "
                "offline).",
                Text(),
                required=True,
            ),
            "revision": Param(
                None, "Hub revision to pin.", Text(nullable=True, what="a string", blank_ok=True)
            ),
            "trust_remote_code": Param(
                False, "Allow code from the hub repository to run.", Boolean()
            ),
            "allow_pickle": Param(
                False,
                "Load pickle weights (pytorch_model.bin) when the model has no safetensors; "
                "only for files you trust.",
                Boolean(),
            ),
            "label_match": Param(
                "name",
                "Map dataset labels to the model's classes by name (case and spaces folded) or "
                "by index, when the dataset lists the same classes in the model's order.",
                OneOf("name", "index"),
            ),
        },
    )
}

log = logging.getLogger(__name__)

# PIL resample codes -> torch modes; LANCZOS/BOX/HAMMING have no torch twin
_RESAMPLE = {0: "nearest", 2: "bilinear", 3: "bicubic", 1: "bicubic", 4: "bilinear", 5: "bilinear"}
_VIT_PREFIX_TOKENS = {"vit": 1, "deit": 2}  # CLS (+ DeiT's distillation token)
_CONV_TYPES = ("convnext", "convnextv2", "resnet", "regnet", "efficientnet", "mobilenet_v2")


@dataclass(frozen=True)
class TokenLayout:
    """How a ViT's token sequence maps to the image: ``n_prefix`` leading tokens (CLS...),
    then ``grid[0] * grid[1]`` patch tokens in row-major order."""

    n_prefix: int
    grid: tuple[int, int]


@dataclass(frozen=True)
class InputSpec:
    """The processor's steps, in order: resize, center crop, rescale, normalise."""

    resize: tuple[str, Any] | None  # ("fixed", (h, w)) | ("shortest", s) | ("convnext", (s, pct))
    crop: tuple[int, int] | None
    mode: str
    scale: float
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None

    def output_size(self) -> tuple[int, int] | None:
        """The fixed (h, w) the model sees, or None if it follows the input's aspect."""
        if self.crop is not None:
            return self.crop
        if self.resize is None:
            return None
        kind, value = self.resize
        if kind == "fixed":
            return value
        if kind == "convnext":
            return (value[0], value[0])
        return None


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _hw(size: Any, what: str) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    height, width = _get(size, "height"), _get(size, "width")
    if height is None or width is None:
        raise ValueError(f"image processor {what} {size!r} has no height/width")
    return (int(height), int(width))


def _channels(value: Any, what: str) -> tuple[float, float, float]:
    values = [float(value)] * 3 if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != 3:
        raise ValueError(f"image processor {what} must have 3 values, got {value!r}")
    return (values[0], values[1], values[2])


def input_spec_from_processor(processor: Any) -> InputSpec:
    """Read the preprocessing of a transformers image processor (v4 dicts or v5 SizeDicts)."""
    kind = str(_get(processor, "image_processor_type") or type(processor).__name__)
    resize_step: tuple[str, Any] | None = None
    if _get(processor, "do_resize") is not False:
        size = _get(processor, "size")
        shortest = _get(size, "shortest_edge") if not isinstance(size, int) else None
        if size is None:
            raise ValueError(f"image processor {kind} resizes but has no size")
        if shortest is None:
            resize_step = ("fixed", _hw(size, "size"))
        elif kind.startswith("ConvNext"):
            crop_pct = _get(processor, "crop_pct")
            resize_step = ("convnext", (int(shortest), float(crop_pct or 224 / 256)))
        else:
            if _get(size, "longest_edge"):
                raise ValueError(f"image processor {kind}: shortest+longest edge is not supported")
            resize_step = ("shortest", int(shortest))
    crop = None
    if _get(processor, "do_center_crop"):
        crop = _hw(_get(processor, "crop_size"), "crop_size")
    resample = _get(processor, "resample")
    code = int(resample) if resample is not None else 2
    mode = _RESAMPLE.get(code, "bilinear")
    if code in (1, 4, 5):
        log.warning("%s resamples with PIL filter %d; using torch %s instead", kind, code, mode)
    scale = float(_get(processor, "rescale_factor") or 1 / 255)
    if _get(processor, "do_rescale") is False:
        scale = 1.0
    mean = std = None
    if _get(processor, "do_normalize") is not False:
        mean = _channels(_get(processor, "image_mean"), "image_mean")
        std = _channels(_get(processor, "image_std"), "image_std")
    return InputSpec(resize_step, crop, mode, scale, mean, std)


def input_spec_hw(spec: InputSpec, height: int, width: int) -> tuple[int, int]:
    """(height, width) of an image of this size after :func:`apply_input_spec`: its steps
    run on a meta tensor (shapes only, no data), so the sizes have one home."""
    shape = apply_input_spec(spec, torch.empty((1, 3, height, width), device="meta")).shape
    return int(shape[-2]), int(shape[-1])


def apply_input_spec(spec: InputSpec, x: torch.Tensor) -> torch.Tensor:
    """Run the processor's steps on NCHW float 0..255 images, in torch."""
    if spec.resize is not None:
        kind, value = spec.resize
        height, width = x.shape[-2:]
        if kind == "fixed":
            x = resize(x, value, spec.mode)
        elif kind == "shortest":
            x = resize(x, shortest_edge_size(height, width, value), spec.mode)
        else:  # convnext
            size, crop_pct = value
            if size < 384:
                x = resize(x, shortest_edge_size(height, width, int(size / crop_pct)), spec.mode)
                x = center_crop(x, (size, size))
            else:
                x = resize(x, (size, size), spec.mode)
    if spec.crop is not None:
        x = center_crop(x, spec.crop)
    x = x * spec.scale
    if spec.mean is not None and spec.std is not None:
        mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device)
        std = torch.tensor(spec.std, dtype=x.dtype, device=x.device)
        x = normalize(x, mean, std)
    return x


def model_class_names(config: Any) -> list[str]:
    """Class names in index order from a transformers config's ``id2label``."""
    id2label = {int(k): str(v) for k, v in (config.id2label or {}).items()}
    n = int(getattr(config, "num_labels", len(id2label)) or len(id2label))
    if sorted(id2label) != list(range(n)):
        raise ValueError(f"model config id2label does not cover classes 0..{n - 1}: {id2label}")
    return [id2label[i] for i in range(n)]


@MODELS.register("hf")
class HFClassifier(Classifier):
    """A transformers ``*ForImageClassification`` model; ``class_names`` are the model's."""

    def __init__(
        self,
        path: str,
        revision: str | None = None,
        trust_remote_code: bool = False,
        allow_pickle: bool = False,
    ) -> None:
        import transformers

        if not isinstance(path, str) or not path.strip():
            raise ValueError(f"hf model parameter 'path' must be a folder or hub id, got {path!r}")
        kwargs = {"revision": revision or "main", "trust_remote_code": bool(trust_remote_code)}
        # Unpickling weights can run code, so only safetensors load unless the config opts in.
        weights = {} if allow_pickle else {"use_safetensors": True}
        try:
            model = transformers.AutoModelForImageClassification.from_pretrained(
                path, **kwargs, **weights
            )
            processor = transformers.AutoImageProcessor.from_pretrained(path, **kwargs)
        except OSError as error:
            if not allow_pickle and _lacks_safetensors(path, error):
                raise ValueError(
                    f"hf model {path!r} has no safetensors weights, only pickle ones "
                    "(pytorch_model.bin), which can run code when loaded. Convert them "
                    "(load once and save_pretrained writes model.safetensors), or, if you "
                    "trust the file, set allow_pickle: true on this model in the config"
                ) from error
            # offline runs (HF_HUB_OFFLINE=1) only see folders and the local hub cache
            raise ValueError(
                f"hf model parameter 'path' = {path!r} (revision {kwargs['revision']!r}) could "
                f"not be loaded: not a local model folder nor in the local hub cache ({error})"
            ) from error
        super().__init__(model_class_names(model.config))
        self.source_path = path
        self.model = model.eval()
        self.model_type = str(getattr(model.config, "model_type", ""))
        self.input_spec = input_spec_from_processor(processor)
        if self.model_type in _CONV_TYPES:
            # channels_last speeds up CPU convolutions; results are the same
            self.model.to(memory_format=torch.channels_last)

    def input_hw(self, image_hw: tuple[int, int]) -> tuple[int, int]:
        return input_spec_hw(self.input_spec, *image_hw)

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        x = apply_input_spec(self.input_spec, to_nchw(images))
        if self.model_type in _CONV_TYPES:
            x = x.contiguous(memory_format=torch.channels_last)
        else:
            x = x.contiguous()
        return self.model(pixel_values=x).logits

    def gradcam_layer(self) -> nn.Module | None:
        """ViT/DeiT: the last encoder block's ``layernorm_before``; conv nets: the last stage.

        Not the ViT's final ``layernorm``: the classifier reads only the CLS token after it,
        so every patch token gets zero gradient there and Grad-CAM would be blank. In the
        last block the CLS token still attends to all patches, so the tokens entering its
        attention (``layernorm_before``) carry the class gradient.
        Found by module name, which holds across transformers versions (v4 nests the
        blocks in ``encoder.layer``, v5 in ``layers``).
        """
        names = dict(self.model.named_modules())
        if self.model_type in _VIT_PREFIX_TOKENS:
            norms = [n for n in names if n.endswith(".layernorm_before")]
            return names[norms[-1]] if norms else None
        stages = [n for n in names if n.endswith("encoder.stages")]
        if stages:
            return names[stages[-1]][-1]
        return None

    def classification_layer(self) -> nn.Module:
        """The ``classifier`` attribute every transformers ``*ForImageClassification`` has:
        a Linear for ViT/DeiT and ConvNeXt, Sequential(Flatten, Linear) for ResNet."""
        layer = getattr(self.model, "classifier", None)
        if not isinstance(layer, nn.Module):
            raise ValueError(
                f"hf model {self.source_path!r} ({self.model_type or 'unknown type'}) has no "
                "'classifier' module, so its classification layer cannot be found"
            )
        return layer

    def token_layout(self) -> TokenLayout | None:
        """Token-to-patch layout for ViT-like models (None for conv nets)."""
        return vit_token_layout(self)


def _lacks_safetensors(path: str, error: OSError) -> bool:
    """Whether loading failed because the model has pickle weights but no safetensors."""
    folder = Path(path)
    if folder.is_dir():
        names = {p.name for p in folder.iterdir()}
        has_pickle = any(n.endswith(".bin") or n.endswith(".bin.index.json") for n in names)
        return has_pickle and not any(".safetensors" in n for n in names)
    # a hub repo: transformers' words for a repo without safetensors weights
    return "cannot be loaded with `safetensors`" in str(error)


def vit_token_layout(classifier: Classifier) -> TokenLayout | None:
    """The :class:`TokenLayout` of a ViT/DeiT :class:`HFClassifier`, else None."""
    if not isinstance(classifier, HFClassifier) or classifier.model_type not in _VIT_PREFIX_TOKENS:
        return None
    size = classifier.input_spec.output_size()
    if size is None:
        raise ValueError(f"{classifier.source_path}: a ViT needs a fixed input size")
    patch = classifier.model.config.patch_size
    patch_h, patch_w = (patch, patch) if isinstance(patch, int) else tuple(patch)
    grid = (size[0] // patch_h, size[1] // patch_w)
    return TokenLayout(_VIT_PREFIX_TOKENS[classifier.model_type], grid)
