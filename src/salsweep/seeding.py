"""Per-item seeds.

A seed depends only on what identifies the item, never on job order or sharding, so a
study gives the same numbers for any shard size or scheduler.
"""

from __future__ import annotations

import hashlib

import numpy as np

from salsweep.condition import format_level


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from the text of its parts (study seed, dataset, perturbation, level, id)."""
    text = "\x1f".join(str(part) for part in parts)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def item_rng(
    study_seed: int, dataset: str, perturbation: str, level: float | str, image_id: str
) -> np.random.Generator:
    level_text = level if isinstance(level, str) else format_level(level)
    return np.random.default_rng(
        derive_seed(study_seed, dataset, perturbation, level_text, image_id)
    )
