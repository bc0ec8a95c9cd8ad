"""Metrics cross-checked against xaitk-saliency 0.15, scipy and hand-computed cases."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.stats import spearmanr

import salsweep
from salsweep.metrics import (
    METRIC_INFO,
    METRIC_PARAMS,
    METRICS,
    MetricContext,
    check_metric,
    metric_label,
    score_maps,
)

sal_metrics = pytest.importorskip("xaitk_saliency.utils.sal_metrics")
xaitk_entropy = pytest.importorskip("xaitk_saliency.impls.saliency_metric.entropy")


def _signed(rng, n=6, h=9, w=7):
    return rng.uniform(-1, 1, (n, h, w)).astype(np.float32)


def _score(name, maps, reference=None, masks=None, **params):
    return METRICS.get(name)(**params).score(maps, reference=reference, masks=masks)


# --- entropy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "clip"), [("entropy", None), ("entropy_pos", (0, 1)), ("entropy_neg", (-1, 0))]
)
def test_entropy_matches_xaitk(name, clip):
    rng = np.random.default_rng(0)
    maps = np.concatenate([_signed(rng), rng.uniform(0, 1, (3, 9, 7)).astype(np.float32)])
    if name == "entropy_neg":
        maps = maps[:6]  # unsigned maps have no negative part (NaN, tested below)
    ours = _score(name, maps)
    ref = [xaitk_entropy.Entropy(clip_range=clip).compute(m) for m in maps]
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    assert ours.dtype == np.float64 and ours.shape == (maps.shape[0],)


def test_entropy_extremes_and_constant_map():
    one_hot = np.zeros((1, 4, 4), np.float32)
    one_hot[0, 1, 2] = 0.7
    uniform = np.full((1, 4, 4), 0.5, np.float32)
    assert _score("entropy_pos", one_hot)[0] == 0.0
    assert _score("entropy_pos", uniform)[0] == pytest.approx(4.0)  # log2(16)
    assert _score("entropy_neg", -uniform)[0] == pytest.approx(4.0)
    # min-max of a constant map has no mass: the one documented NaN of plain entropy
    assert np.isnan(_score("entropy", uniform)[0])
    assert not np.isnan(_score("entropy", one_hot)[0])


def test_entropy_sign_parts_nan_exactly_when_no_values_of_that_sign():
    rng = np.random.default_rng(1)
    maps = _signed(rng, n=200, h=6, w=5)
    # vary how many pixels of each sign survive: none, a single tiny one, many
    for i, m in enumerate(maps):
        keep = rng.random(m.shape) < [0.0, 0.03, 0.5, 1.0][i % 4]
        m[~keep] = 0.0
        if i % 5 == 0:
            m[:] = np.abs(m)
        elif i % 7 == 0:
            m[:] = -np.abs(m)
        if i % 11 == 0:
            m.flat[rng.integers(m.size)] = np.float32(1e-30) * rng.choice([-1, 1])
    pos, neg = _score("entropy_pos", maps), _score("entropy_neg", maps)
    has_pos, has_neg = (maps > 0).any(axis=(1, 2)), (maps < 0).any(axis=(1, 2))
    assert has_pos.any() and (~has_pos).any() and has_neg.any() and (~has_neg).any()
    np.testing.assert_array_equal(np.isnan(pos), ~has_pos)
    np.testing.assert_array_equal(np.isnan(neg), ~has_neg)
    assert (pos[has_pos] >= 0).all() and (pos[has_pos] <= math.log2(30) + 1e-9).all()
    unsigned = np.abs(maps)
    assert np.isnan(_score("entropy_neg", unsigned)).all()


# --- drift vs the reference ------------------------------------------------------------


def test_ssd_matches_xaitk_and_zero_map_is_nan():
    rng = np.random.default_rng(2)
    maps, refs = _signed(rng), _signed(rng)
    ours = _score("ssd", maps, refs)
    ref = [
        sal_metrics.compute_ssd(m.astype(np.float64), r.astype(np.float64))
        for m, r in zip(maps, refs, strict=True)
    ]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    assert _score("ssd", maps[:1], maps[:1])[0] == 0.0
    maps[1] = 0.0
    out = _score("ssd", maps, refs)
    assert np.isnan(out[1]) and not np.isnan(np.delete(out, 1)).any()
    assert sal_metrics.compute_ssd(maps[1], refs[1]) == np.inf  # xaitk's sentinel


def test_xcorr_matches_xaitk_including_constant_maps():
    rng = np.random.default_rng(3)
    maps, refs = _signed(rng), _signed(rng)
    maps[1] = 0.25  # constant map, non-constant reference: xaitk says 0.0
    refs[2] = -0.5  # constant reference: xaitk's corrcoef gives NaN
    ours = _score("xcorr", maps, refs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = [
            sal_metrics.compute_xcorr(m.astype(np.float64), r.astype(np.float64))
            for m, r in zip(maps, refs, strict=True)
        ]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    assert ours[1] == 0.0 and np.isnan(ours[2]) and np.isnan(ref[2])
    assert _score("xcorr", maps[:1], maps[:1])[0] == pytest.approx(1.0)
    assert _score("xcorr", maps[:1], -maps[:1])[0] == pytest.approx(-1.0)


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(4)
    maps, refs = _signed(rng), _signed(rng)
    maps[3] = np.round(maps[3] * 2) / 2  # heavy ties: average ranks
    refs[4] = np.clip(refs[4], 0, 1)
    ours = _score("spearman", maps, refs)
    ref = [spearmanr(m.ravel(), r.ravel()).statistic for m, r in zip(maps, refs, strict=True)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    refs[0] = 0.0
    assert np.isnan(_score("spearman", maps, refs)[0])


def test_topk_iou_hand_cases():
    m = np.array([[[4, 3], [2, 1]]], np.float32)
    r = np.array([[[4, 1], [3, 2]]], np.float32)
    assert _score("topk_iou", m, r, k=50)[0] == pytest.approx(1 / 3)  # {0,1} vs {0,2}
    assert _score("topk_iou", m, r, k=25)[0] == 1.0  # both keep pixel 0
    assert _score("topk_iou", m, r, k=100)[0] == 1.0
    assert _score("topk_iou", m, -r, k=25)[0] == 0.0  # {0} vs {1}
    tied = np.array([[[1, 1], [1, 0]]], np.float32)
    # 25% of 4 = 1 pixel, but the three tied maxima are all kept: {0} vs {0,1,2}
    assert _score("topk_iou", m, tied, k=25)[0] == pytest.approx(1 / 3)
    # default k=10 on a 2x2 map still keeps at least one pixel
    assert _score("topk_iou", m, r)[0] == 1.0


def test_topk_iou_matches_argsort_without_ties():
    rng = np.random.default_rng(5)
    maps, refs = _signed(rng, n=5, h=20, w=20), _signed(rng, n=5, h=20, w=20)
    for k in (1, 10, 12.5, 50):
        n = math.ceil(k * 400 / 100)
        expect = []
        for a, b in zip(maps, refs, strict=True):
            sa = set(np.argsort(-a.ravel())[:n].tolist())
            sb = set(np.argsort(-b.ravel())[:n].tolist())
            expect.append(len(sa & sb) / len(sa | sb))
        np.testing.assert_allclose(_score("topk_iou", maps, refs, k=k), expect)


# --- Shared Interest -------------------------------------------------------------------


def _binarize_ref(m, how):
    """Independent per-map restatement of the paper's binarisation."""
    m = m.astype(np.float64)
    if m.max() == m.min():
        return np.zeros(m.shape, bool)
    x = (m - m.min()) / (m.max() - m.min())
    thr = x.mean() + x.std() if how == "mean_std" else np.percentile(x, how["percentile"])
    return x >= thr


def test_shared_interest_hand_cases():
    m = np.array([[[1, 0], [0, 0]]], np.float32)  # mean .25 + std .433 -> S = {(0,0)}
    g = np.array([[[1, 1], [0, 0]]], bool)
    assert _score("iou_coverage", m, masks=g)[0] == 0.5
    assert _score("gt_coverage", m, masks=g)[0] == 0.5
    assert _score("saliency_coverage", m, masks=g)[0] == 1.0
    m = np.array([[[0.1, 0.2], [0.3, 0.4]]], np.float32)  # normalised 0, 1/3, 2/3, 1
    g = np.array([[[0, 1], [1, 0]]], np.uint8)
    p50 = {"binarize": {"percentile": 50}}  # threshold 0.5 -> S = {(1,0),(1,1)}
    assert _score("iou_coverage", m, masks=g, **p50)[0] == pytest.approx(1 / 3)
    assert _score("gt_coverage", m, masks=g, **p50)[0] == 0.5
    assert _score("saliency_coverage", m, masks=g, **p50)[0] == 0.5


@pytest.mark.parametrize("how", ["mean_std", {"percentile": 80}])
def test_shared_interest_matches_xaitk_on_random_maps(how):
    rng = np.random.default_rng(6)
    maps = _signed(rng, n=8, h=16, w=12)
    masks = rng.random(maps.shape) < 0.3
    params = {"binarize": how}
    got = {
        n: _score(n, maps, masks=masks, **params)
        for n in ("iou_coverage", "gt_coverage", "saliency_coverage")
    }
    for i, (m, g) in enumerate(zip(maps, masks, strict=True)):
        s = _binarize_ref(m, how)
        assert s.any() and g.any()
        assert got["iou_coverage"][i] == pytest.approx(sal_metrics.compute_iou_coverage(s, g))
        assert got["gt_coverage"][i] == pytest.approx(
            sal_metrics.compute_ground_truth_coverage(s.astype(float), g.astype(float))
        )
        assert got["saliency_coverage"][i] == pytest.approx(
            sal_metrics.compute_saliency_coverage(s.astype(float), g.astype(float))
        )


def test_shared_interest_empty_sets():
    rng = np.random.default_rng(7)
    maps = _signed(rng, n=3, h=4, w=4)
    maps[1] = 0.3  # constant map: S empty
    masks = rng.random(maps.shape) < 0.5
    masks[0] = False  # no ground truth: G empty
    masks[1, 0, 0] = True
    iou, gt, sal = (
        _score(n, maps, masks=masks) for n in ("iou_coverage", "gt_coverage", "saliency_coverage")
    )
    assert np.isnan([iou[0], gt[0], sal[0]]).all()
    assert iou[1] == 0.0 and gt[1] == 0.0 and np.isnan(sal[1])
    assert not np.isnan([iou[2], gt[2], sal[2]]).any()


def test_masks_must_be_binary():
    maps = np.zeros((1, 2, 2), np.float32)
    with pytest.raises(ValueError, match="masks must be bool or 0/1"):
        _score("gt_coverage", maps, masks=np.full((1, 2, 2), 255, np.uint8))


# --- registry, params, labels, score_maps ----------------------------------------------


def test_every_metric_declares_direction_and_requirements():
    assert set(METRICS.names()) == set(METRIC_PARAMS) == set(METRIC_INFO)
    # The built-in metrics' directions; a metric added later is checked by its own test.
    lower = {"entropy", "entropy_pos", "entropy_neg", "ssd"}
    higher = {"xcorr", "spearman", "topk_iou", "iou_coverage", "gt_coverage", "saliency_coverage"}
    assert lower | higher <= set(METRICS.names())
    for name in METRICS.names():
        cls = METRICS.get(name)
        # MapMetric only annotates higher_is_better: reading it fails unless declared
        assert isinstance(cls.higher_is_better, bool)
        if name in lower | higher:
            assert cls.higher_is_better is (name in higher)
        assert set(cls.requires) <= {"reference", "mask", "images", "probs", "pred_map"}
        assert METRIC_INFO[name] == {
            "higher_is_better": cls.higher_is_better,
            "requires": tuple(cls.requires),
        }


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("nope", {}, "unknown metric 'nope'"),
        ("ssd", {"k": 10}, "metric 'ssd': unknown parameter 'k'"),
        ("topk_iou", {"q": 10}, "metric 'topk_iou': unknown parameter 'q'"),
        ("topk_iou", {"k": 0}, r"'k' must be a number in \(0, 100\]"),
        ("topk_iou", {"k": 100.5}, r"'k' must be a number in \(0, 100\]"),
        ("topk_iou", {"k": True}, "'k'"),
        ("topk_iou", {"k": "10"}, "'k'"),
        ("iou_coverage", {"binarize": "otsu"}, "metric 'iou_coverage': parameter 'binarize'"),
        ("gt_coverage", {"binarize": {"percentile": 100}}, r"'binarize' must be .*'percentile'"),
        ("gt_coverage", {"binarize": {"pct": 50}}, "parameter 'binarize'"),
    ],
)
def test_check_metric_errors_name_metric_and_param(name, params, match):
    with pytest.raises(ValueError, match=match):
        check_metric(name, params)
    if name in METRICS:
        with pytest.raises(ValueError, match=match):
            METRICS.get(name)(**params)


def test_metric_label():
    assert metric_label("entropy", {}) == "entropy"
    assert metric_label("topk_iou", {}) == "topk_iou@10"
    assert metric_label("topk_iou", {"k": 10.0}) == "topk_iou@10"
    assert metric_label("topk_iou", {"k": 12.5}) == "topk_iou@12.5"
    assert metric_label("iou_coverage") == "iou_coverage@mean_std"
    assert metric_label("iou_coverage", {"binarize": {"percentile": 90}}) == "iou_coverage@p90"
    with pytest.raises(ValueError, match="'k'"):
        metric_label("topk_iou", {"k": -1})


def test_score_maps_skips_missing_requirements():
    rng = np.random.default_rng(8)
    maps, refs = _signed(rng, n=3), _signed(rng, n=3)
    masks = rng.random(maps.shape) < 0.4
    specs = [{"name": n} for n in sorted(METRIC_PARAMS)] + [{"name": "topk_iou", "k": 5}]
    context = MetricContext(
        images=rng.integers(0, 256, (3, 9, 7, 3)),
        clean_images=rng.integers(0, 256, (3, 9, 7, 3)),
        probs=rng.dirichlet(np.ones(4), 3),
        clean_probs=rng.dirichlet(np.ones(4), 3),
        pred_maps=_signed(rng, n=3),
    )
    full = score_maps(specs, maps, refs, masks, context)
    assert len(full) == len(specs) and "topk_iou@5" in full and "topk_iou@10" in full
    assert all(v.shape == (3,) and v.dtype == np.float64 for v in full.values())
    np.testing.assert_array_equal(full["xcorr"], _score("xcorr", maps, refs))
    no_masks = score_maps(specs, maps, refs, None)
    assert not any("coverage" in k for k in no_masks) and "ssd" in no_masks
    assert not {"ris", "ros", "lipschitz", "truth_pred_ssd"} & set(no_masks)  # no context
    alone = score_maps(specs, maps, None, None)
    needs_nothing = {metric_label(n) for n, info in METRIC_INFO.items() if not info["requires"]}
    assert set(alone) == needs_nothing >= {"entropy", "entropy_pos", "entropy_neg"}
    assert not needs_nothing & {"ssd", "xcorr", "iou_coverage"}
    with pytest.raises(ValueError, match="listed twice"):
        score_maps([{"name": "topk_iou"}, {"name": "topk_iou", "k": 10}], maps, refs)
    with pytest.raises(ValueError, match="unknown parameter 'k'"):
        score_maps([{"name": "entropy"}, {"name": "ssd", "k": 1}], maps, refs)


def test_bad_inputs_raise():
    maps = np.zeros((2, 3, 3), np.float32)
    bad = maps.copy()
    bad[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"entropy: maps item\(s\) \[1\]"):
        _score("entropy", bad)
    with pytest.raises(ValueError, match="needs reference"):
        _score("ssd", maps, maps[:1])


def test_import_is_light():
    code = (
        "import sys, salsweep.metrics; "
        "bad = [m for m in ('torch', 'pandas', 'skimage', 'scipy.stats') if m in sys.modules]; "
        "assert not bad, bad"
    )
    src = os.path.dirname(os.path.dirname(salsweep.__file__))
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
