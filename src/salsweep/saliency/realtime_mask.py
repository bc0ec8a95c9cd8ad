"""Real-time saliency (Dabkowski & Gal 2017): one forward of a learned masking model.

The masking network (``salsweep.masker.model``) is trained once per (dataset, model) by the
rule ``train_masker`` (``salsweep.masker.training``) on frozen features of the classifier,
with the objective of ``salsweep.masker.objective`` and the paper's fake-label trick. Here it
is loaded from ``masker_path`` (set by the pipeline to the trained file) and run: the
classifier's features of each image (computed once per image), gated by the target class,
give a mask grid that is upsampled bilinearly to the image. The map is the mask, the region
the masker keeps for the class, in [0, 1] and not rescaled. Deterministic: no randomness at
explain time. The training parameters (``alternative``, weights, ``train_*``, ``width``,
``fake_fraction``, ``layer``) are used by ``train_masker`` only.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from salsweep.masker.model import FeatureTap, MaskerNet, load_masker, normalise_images
from salsweep.masker.objective import upsample
from salsweep.models.base import Classifier
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import ConfiguredMethod, chunks


@SALIENCY_METHODS.register("realtime_mask")
class RealtimeMask(ConfiguredMethod):
    signed = False
    needs_gradients = False
    family = "mask"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: tuple[tuple, MaskerNet, dict] | None = None

    def masker(self, classifier: Classifier) -> tuple[MaskerNet, dict]:
        path = self.params["masker_path"]
        if path is None:
            raise ValueError(
                "realtime_mask: parameter 'masker_path' is not set; the pipeline's rule "
                "train_masker trains the masker and passes its file"
            )
        if not os.path.isfile(path):
            raise ValueError(f"realtime_mask: parameter 'masker_path' {path!r} is not a file")
        key = (os.path.abspath(path), os.stat(path).st_mtime_ns, str(classifier.device))
        if self._loaded is None or self._loaded[0] != key:
            net, info = load_masker(path, classifier.device)
            if info["class_names"] != list(classifier.class_names):
                raise ValueError(
                    f"realtime_mask: the masker {path} was trained for other classes "
                    f"({len(info['class_names'])}) than the classifier's "
                    f"({classifier.n_classes})"
                )
            self._loaded = (key, net, info)
        return self._loaded[1], self._loaded[2]

    @torch.inference_mode()
    def _explain(
        self, classifier: Classifier, images: torch.Tensor, targets: np.ndarray
    ) -> np.ndarray:
        n, h, w, _ = images.shape
        n_targets = targets.shape[1]
        net, info = self.masker(classifier)
        tap = FeatureTap(classifier, info["layer"])
        t_all = torch.from_numpy(np.asarray(targets, dtype=np.int64)).to(images.device)
        out = torch.empty((n, n_targets, h, w), dtype=torch.float32, device=images.device)
        per_call = max(1, self.batch_size_for(classifier, (h, w)) // max(1, n_targets))
        for idx in chunks(n, per_call):
            idx = idx.to(images.device)
            x = images[idx].float()
            features = tap(x)
            if features is not None and features.shape[1] != net.config["feature_channels"]:
                raise ValueError(
                    f"realtime_mask: the classifier's features have {features.shape[1]} "
                    f"channels, the masker was trained on {net.config['feature_channels']}"
                )
            if features is not None:
                features = features.repeat_interleave(n_targets, dim=0)
            pixels = normalise_images(x).repeat_interleave(n_targets, dim=0)
            grid = net(features, pixels, t_all[idx].reshape(-1))
            out[idx] = upsample(grid, (h, w)).reshape(len(idx), n_targets, h, w)
        return out.clamp(0.0, 1.0).cpu().numpy()
