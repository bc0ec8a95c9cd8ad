"""Model-parameter randomisation for the sanity-check floors (Adebayo et al., 2018).

``randomise_weights(classifier, "head", seed)`` re-initialises the classification layer
(:meth:`Classifier.classification_layer`), ``"all"`` every weight of the classifier
(the cascading randomisation taken to the end). Each module with a ``reset_parameters``
gets torch's own default init (Linear/Conv: Kaiming-uniform, norms: weight 1, bias 0 and
BatchNorm running statistics 0/1); a parameter that no such module owns (a ViT's CLS token
and position embeddings) is drawn from N(0, 0.02^2) truncated at +-2 std, as ViTs are
initialised. Draws happen on the CPU under ``seed`` in a forked RNG, so the result is the
same on every device and the global RNG is untouched.
"""

from __future__ import annotations

import torch
from torch import nn

from salsweep.models.base import Classifier

SCOPES = ("head", "all")
ORPHAN_STD = 0.02


def reset_module(module: nn.Module) -> None:
    """Re-initialise every parameter under ``module`` (see the module doc), in module order."""
    owned: set[int] = set()
    for sub in module.modules():
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()
            owned.update(id(p) for p in sub.parameters(recurse=False))
    for sub in module.modules():
        for param in sub.parameters(recurse=False):
            if id(param) not in owned:
                nn.init.trunc_normal_(param, std=ORPHAN_STD, a=-2 * ORPHAN_STD, b=2 * ORPHAN_STD)
                owned.add(id(param))


def randomise_weights(classifier: Classifier, scope: str, seed: int) -> Classifier:
    """Re-initialise ``classifier`` in place (``scope`` "head" or "all") under ``seed``;
    returns it in eval mode on its device, parameters still frozen."""
    if scope not in SCOPES:
        raise ValueError(f"randomise scope must be one of {SCOPES}, got {scope!r}")
    device = classifier.device
    classifier.cpu()
    module = classifier.classification_layer() if scope == "head" else classifier
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(int(seed) % (2**63))
        reset_module(module)
    classifier.requires_grad_(False)
    return classifier.to(device).eval()
