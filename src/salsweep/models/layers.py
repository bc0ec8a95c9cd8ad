"""The classifier layers that several methods hook (Grad-CAM, realtime_mask's features),
and how a ViT's token sequence lies on its patch grid."""

from __future__ import annotations

import math

from torch import nn

from salsweep.models.base import Classifier


def _declared_layout(classifier: Classifier) -> tuple[int, int, int] | None:
    """(n_prefix, gh, gw) from ``token_grid()`` or ``token_layout()`` (.n_prefix, .grid)."""
    token_grid = getattr(classifier, "token_grid", None)
    if callable(token_grid) and (info := token_grid()) is not None:
        n_prefix, grid_h, grid_w = (int(v) for v in info)
        return n_prefix, grid_h, grid_w
    token_layout_fn = getattr(classifier, "token_layout", None)
    if callable(token_layout_fn) and (layout := token_layout_fn()) is not None:
        return int(layout.n_prefix), int(layout.grid[0]), int(layout.grid[1])
    return None


def token_layout(classifier: Classifier, n_tokens: int) -> tuple[int, int, int]:
    """(n_prefix, grid_h, grid_w) of a token sequence of length ``n_tokens``."""
    declared = _declared_layout(classifier)
    if declared is not None:
        n_prefix, grid_h, grid_w = declared
        if n_prefix + grid_h * grid_w != n_tokens:
            raise ValueError(
                f"gradcam: the classifier's token layout {declared} does not fit a layer output "
                f"of {n_tokens} tokens"
            )
        return declared
    side = math.isqrt(max(n_tokens - 1, 0))
    if side * side != n_tokens - 1 or side == 0:
        raise ValueError(
            f"gradcam: cannot lay {n_tokens} tokens on a grid (expected 1 CLS token + a square "
            "number of patches); give the classifier a token_grid() or token_layout() method"
        )
    return 1, side, side


def resolve_layer(classifier: Classifier, path: str | None) -> nn.Module:
    if path is None:
        layer = classifier.gradcam_layer()
        if layer is None:
            raise ValueError(
                f"gradcam: model {getattr(classifier, 'name', type(classifier).__name__)!r} has "
                "no default Grad-CAM layer; set the parameter 'layer' to a module path"
            )
        return layer
    try:
        return classifier.get_submodule(path)
    except AttributeError as error:
        raise ValueError(f"gradcam: parameter 'layer' {path!r} is not a module: {error}") from None


def resolve_feature_layer(classifier: nn.Module, path: str | None) -> nn.Module | None:
    """The module at ``path``, else ``classifier.gradcam_layer()`` (None: use an encoder)."""
    if path is None:
        getter = getattr(classifier, "gradcam_layer", None)
        return getter() if callable(getter) else None
    try:
        return classifier.get_submodule(path)
    except AttributeError as error:
        raise ValueError(
            f"realtime_mask: parameter 'layer' {path!r} is not a module: {error}"
        ) from None
