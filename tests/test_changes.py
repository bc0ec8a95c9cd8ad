"""Input and output change of each perturbed copy (issue 12 section 2), on hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salsweep.condition import Condition
from salsweep.io import CHANGE_COLUMNS, encode_png, read_table, save_probs, write_table
from salsweep.stages.changes import KL_EPS, change_frame, changes_shard, image_change, kl_divergence


def test_kl_matches_a_hand_computation():
    p = np.array([[0.5, 0.5], [0.25, 0.75]])
    q = np.array([[0.9, 0.1], [0.25, 0.75]])
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    kl = kl_divergence(p, q)
    assert kl[0] == pytest.approx(expected, rel=1e-9)
    assert kl[1] == pytest.approx(0.0, abs=1e-12)
    # KL is not symmetric: the clean distribution comes first
    assert kl_divergence(q, p)[0] != pytest.approx(expected)


def test_kl_of_an_underflowed_probability_is_large_but_finite():
    p = np.array([[0.5, 0.5]], dtype=np.float32)
    q = np.array([[1.0, 0.0]], dtype=np.float32)
    kl = kl_divergence(p, q)[0]
    assert np.isfinite(kl)
    assert kl == pytest.approx(0.5 * math.log(0.5) + 0.5 * math.log(0.5 / KL_EPS), rel=1e-6)


def test_psnr_ssim_l2_match_hand_computations():
    clean = np.zeros((8, 8, 3), dtype=np.uint8)
    copy = np.full((8, 8, 3), 51, dtype=np.uint8)  # 0.2 on the [0, 1] scale
    psnr, ssim, l2 = image_change(clean, copy)
    assert psnr == pytest.approx(10 * math.log10(1 / 0.04), rel=1e-9)
    assert l2 == pytest.approx(math.sqrt(8 * 8 * 3 * 0.04), rel=1e-9)
    # constant images: only SSIM's luminance term is left, C1 / (0.2^2 + C1), C1 = 0.01^2
    assert ssim == pytest.approx(1e-4 / (0.04 + 1e-4), rel=1e-6)
    same = image_change(clean, clean)
    assert same == (math.inf, 1.0, 0.0)


def test_ssim_window_shrinks_for_tiny_images():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, size=(6, 6, 3), dtype=np.uint8)
    _, ssim, _ = image_change(image, 255 - image)
    assert -1.0 <= ssim < 0.5


def test_change_frame_prob_and_flip():
    condition = Condition("d", "gaussian_blur", "3")
    clean_probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]], dtype=np.float32)
    copy_probs = np.array([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7]], dtype=np.float32)
    images = [np.zeros((8, 8, 3), np.uint8)] * 2
    frame = change_frame(condition, "m", ["a", "b"], images, images, clean_probs, copy_probs)
    assert list(frame.columns) == CHANGE_COLUMNS
    assert frame["prob_clean_pred"].tolist() == pytest.approx([0.6, 0.2])
    assert frame["flipped"].tolist() == [False, True]
    assert frame["flipped"].dtype == bool
    assert frame["level"].tolist() == [3.0, 3.0]
    wrong = [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)]
    with pytest.raises(ValueError, match="image 'b'"):
        change_frame(condition, "m", ["a", "b"], images, wrong, clean_probs, copy_probs)


def write_images(path, ids, images):
    table = pd.DataFrame(
        {
            "image_id": ids,
            "image": [encode_png(image) for image in images],
            "label": np.zeros(len(ids), dtype=np.int64),
            "mask": pd.Series([None] * len(ids), dtype=object),
        }
    )
    write_table(table, path)
    return str(path)


def test_changes_shard_aligns_rows_by_image_id(tmp_path):
    ids = ["x", "y"]
    clean = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 100, np.uint8)]
    clean_probs = np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32)
    save_probs(ids, clean_probs, tmp_path / "clean.safetensors")
    # the copy's files list the images in another order
    write_images(tmp_path / "copy.parquet", ids[::-1], [clean[1], clean[0] + 51])
    save_probs(ids[::-1], np.array([[0.3, 0.7], [0.4, 0.6]], np.float32), tmp_path / "c.st")
    write_images(tmp_path / "clean.parquet", ids, clean)
    out = tmp_path / "changes.parquet"
    changes_shard(
        str(tmp_path / "clean.parquet"),
        str(tmp_path / "clean.safetensors"),
        [(Condition("d", "noise", "0.1"), str(tmp_path / "copy.parquet"), str(tmp_path / "c.st"))],
        str(out),
        model="m",
    )
    table = read_table(out)
    assert list(table.columns) == CHANGE_COLUMNS
    assert table["image_id"].tolist() == ids
    assert table["psnr"].tolist() == pytest.approx([10 * math.log10(1 / 0.04), math.inf])
    assert table["prob_clean_pred"].tolist() == pytest.approx([0.4, 0.7])
    assert table["flipped"].tolist() == [True, False]
    assert table["level"].tolist() == [0.1, 0.1]
