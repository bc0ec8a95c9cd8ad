"""The masking objective of Dabkowski & Gal (2017) and their learned masking model.

- ``objective``: the mask loss shared by ``mask_optimisation`` (one mask optimised per image
  and target) and ``realtime_mask`` (a masking network trained once per model and dataset).
- ``model``: the masking network, the frozen classifier features it reads, its safetensors file.
- ``training``: training the masking network.
- ``plan``: torch-free helpers the DAG uses (which split trains the masker).

Only ``plan`` is imported here: the DAG parses this package without importing torch.
"""

from __future__ import annotations

from salsweep.masker.plan import SPLIT_CHOICES, training_split

__all__ = ["SPLIT_CHOICES", "training_split"]
