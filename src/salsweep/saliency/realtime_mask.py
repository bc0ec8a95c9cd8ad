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
from salsweep.params import Integer, Number, OneOf, Param, Plugin, Text
from salsweep.saliency.base import SALIENCY_METHODS
from salsweep.saliency.building_blocks import ConfiguredMethod, chunks
from salsweep.saliency.params import ALTERNATIVE, BLUR_SIGMA, LAYER, OBJECTIVE_PARAMS, POSITIVE

PARAMS = {
    "realtime_mask": Plugin(
        "Real-time saliency (Dabkowski & Gal 2017) - a masking network trained once per "
        "dataset and model (rule train_masker, results/maskers/) on frozen classifier features "
        "with the objective of mask_optimisation and the fake-label trick, then one forward "
        "per map; unsigned [0, 1]. Trained on the dataset's train split when it has one, else "
        "on its eval images.",
        {
            "masker_path": Param(
                None,
                "The trained masker file; set by the pipeline, leave unset.",
                Text(nullable=True, what="a file path (set by the pipeline)"),
            ),
            "layer": Param(
                None,
                "Dotted module path of the classifier layer whose output the masker reads; null "
                "= the architecture's Grad-CAM layer (a small trainable encoder when there is "
                "none).",
                LAYER,
            ),
            "alternative": Param(
                "blur", "What replaces the removed pixels in training - blur or noise.", ALTERNATIVE
            ),
            "blur_sigma": BLUR_SIGMA,
            **OBJECTIVE_PARAMS,
            "fake_fraction": Param(
                0.3,
                "Fraction of training samples given a random wrong class, for which only the "
                "area counts.",
                Number(0, 1, high_open=True),
            ),
            "width": Param(
                32,
                "Channels of the masking network (halved at every upsampling block, down to 8).",
                Integer(4, 512),
            ),
            "train_steps": Param(300, "Adam steps of masker training.", Integer(1)),
            "train_batch_size": Param(32, "Images per training step.", Integer(1)),
            "train_lr": Param(0.003, "Adam learning rate of masker training.", POSITIVE),
            "train_images": Param(
                2000, "At most this many training images (a seeded subset).", Integer(1)
            ),
            "train_split": Param(
                "auto",
                "Images that train the masker - auto (the train split when the dataset has one, "
                "else the eval images), train or eval.",
                OneOf("auto", "train", "eval"),
            ),
        },
    )
}


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
