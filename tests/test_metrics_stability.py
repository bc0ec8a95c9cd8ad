"""Stability (ris, ros, lipschitz), truth-vs-pred and localisation metrics: hand-computed
cases, an independent re-implementation of Quantus' formulas, and Quantus 0.6.0 itself
where it is installed (``pip install --no-deps quantus==0.6.0``; it imports cv2, which the
test extra's opencv-python-headless provides)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salsweep.condition import Condition
from salsweep.io import SaliencyMaps, encode_png, read_table, save_maps, save_probs, write_table
from salsweep.metrics import METRIC_INFO, METRICS, MetricContext, score_maps
from salsweep.metrics.localisation import tolerance_px
from salsweep.stages.map_metrics import score_sweep

NEW = {
    "ris": False,
    "ros": False,
    "lipschitz": False,
    "truth_pred_ssd": False,
    "truth_pred_xcorr": True,
    "pointing_game": True,
    "relevance_mass": True,
    "relevance_rank": True,
}


def _score(name, maps, reference=None, masks=None, **context):
    return METRICS.get(name)().score(maps, reference, masks, MetricContext(**context))


def _case(rng, n=4, h=6, w=5, classes=3):
    """Signed maps with no zero pixel, uint8 images, and softmax vectors whose argmax
    agrees (the prediction does not change) unless a test changes it."""
    clean_maps = rng.uniform(0.1, 1, (n, h, w)) * rng.choice([-1, 1], (n, h, w))
    maps = clean_maps + rng.normal(0, 0.2, (n, h, w))
    clean_images = rng.integers(0, 256, (n, h, w, 3)).astype(np.uint8)
    images = np.clip(clean_images + rng.integers(-20, 21, clean_images.shape), 0, 255)
    clean_probs = np.tile([0.7, 0.2, 0.1][:classes], (n, 1))
    probs = clean_probs + rng.uniform(-0.05, 0.05, clean_probs.shape)
    return {
        "maps": maps.astype(np.float32),
        "reference": clean_maps.astype(np.float32),
        "images": images.astype(np.uint8),
        "clean_images": clean_images,
        "probs": probs.astype(np.float32),
        "clean_probs": clean_probs.astype(np.float32),
    }


def _stability(name, case):
    context = {k: case[k] for k in ("images", "clean_images", "probs", "clean_probs")}
    return _score(name, case["maps"], case["reference"], **context)


# --- directions and requirements --------------------------------------------------------


def test_new_metrics_declare_direction_and_requirements():
    for name, higher in NEW.items():
        assert METRIC_INFO[name]["higher_is_better"] is higher
    assert METRIC_INFO["ris"]["requires"] == ("reference", "images", "probs")
    assert METRIC_INFO["ros"]["requires"] == ("reference", "probs")
    assert METRIC_INFO["lipschitz"]["requires"] == ("reference", "images")
    assert METRIC_INFO["truth_pred_ssd"]["requires"] == ("pred_map",)
    for name in ("pointing_game", "relevance_mass", "relevance_rank"):
        assert METRIC_INFO[name]["requires"] == ("mask",)


# --- stability: hand-computed -----------------------------------------------------------


def test_ris_ros_lipschitz_hand_computed():
    # One 1x2 map, one 1x2 one-channel image.
    e = np.array([[[1.0, 2.0]]], np.float32)  # clean map
    e2 = np.array([[[2.0, 2.0]]], np.float32)  # copy's map: relative change (1 - 2) / 1
    x = np.array([[[[51], [102]]]], np.uint8)  # 0.2, 0.4 in [0, 1]
    x2 = np.array([[[[102], [102]]]], np.uint8)  # 0.4, 0.4: relative change 0.2 / 0.2 = 1
    p, p2 = np.array([[0.6, 0.4]], np.float32), np.array([[0.9, 0.1]], np.float32)
    ctx = {"images": x2, "clean_images": x, "probs": p2, "clean_probs": p}
    # ris = ||[-1, 0]|| / ||[-1, 0]|| = 1
    assert _score("ris", e2, e, **ctx)[0] == pytest.approx(1.0)
    # ros = 1 / ||[-0.3, 0.3]|| = 1 / (0.3 sqrt 2)
    assert _score("ros", e2, e, **ctx)[0] == pytest.approx(1 / (0.3 * np.sqrt(2)), rel=1e-6)
    # lipschitz: maps / max|.| = [0.5, 1] and [1, 1]: 0.5 / ||[0.2, 0]|| = 2.5
    assert _score("lipschitz", e2, e, **ctx)[0] == pytest.approx(2.5, rel=1e-6)


def test_stability_zero_pixels_use_quantus_eps_and_identical_copies_score_zero():
    e = np.array([[[0.0, 1.0]]], np.float32)
    e2 = np.array([[[0.5, 1.0]]], np.float32)
    x = np.array([[[[0], [255]]]], np.uint8)
    x2 = np.array([[[[255], [255]]]], np.uint8)
    p = np.array([[0.6, 0.4]], np.float32)
    ctx = {"images": x2, "clean_images": x, "probs": p, "clean_probs": p}
    # e == 0 and x == 0 are floored by eps_min = 1e-6: num = 0.5e6, den = 1e6
    assert _score("ris", e2, e, **ctx)[0] == pytest.approx(0.5)
    # unchanged softmax: the denominator is eps_min itself
    assert _score("ros", e2, e, **ctx)[0] == pytest.approx(0.5e6 / 1e-6)
    same = {"images": x, "clean_images": x, "probs": p, "clean_probs": p}
    for name in ("ris", "ros", "lipschitz"):
        assert _score(name, e, e, **same)[0] == 0.0


def test_ris_and_ros_are_nan_where_the_prediction_changed_lipschitz_is_not():
    case = _case(np.random.default_rng(0))
    case["probs"][1] = [0.1, 0.8, 0.1]  # image 1 now predicts class 1
    for name in ("ris", "ros"):
        out = _stability(name, case)
        assert np.isnan(out[1]) and np.isfinite(np.delete(out, 1)).all()
    assert np.isfinite(_stability("lipschitz", case)).all()


def test_stability_metrics_are_skipped_without_their_inputs():
    case = _case(np.random.default_rng(1))
    specs = [{"name": n} for n in ("ris", "ros", "lipschitz", "ssd")]
    probs_only = MetricContext(probs=case["probs"], clean_probs=case["clean_probs"])
    out = score_maps(specs, case["maps"], case["reference"], None, probs_only)
    assert set(out) == {"ros", "ssd"}
    with pytest.raises(ValueError, match="ris needs images"):
        METRICS.get("ris")().score(case["maps"], case["reference"], None, probs_only)
    with pytest.raises(ValueError, match=r"ris: images must be \[4, 6, 5, C\]"):
        bad = MetricContext(
            images=case["images"][:, :3],
            clean_images=case["clean_images"],
            probs=case["probs"],
            clean_probs=case["clean_probs"],
        )
        METRICS.get("ris")().score(case["maps"], case["reference"], None, bad)


# --- stability: an independent re-implementation of Quantus' code ----------------------


def _quantus_norm(arr):
    """Quantus' norm_function for 4D (batch, C, H, W) arrays."""
    return np.linalg.norm(np.linalg.norm(arr, axis=(-1, -2)), axis=-1)


def _quantus_ris(x, xs, e_x, e_xs, eps_min=1e-6):
    num = _quantus_norm((e_x - e_xs) / (e_x + (e_x == 0) * eps_min))
    den = x - xs
    den /= x + (x == 0) * eps_min
    den = _quantus_norm(den)
    den += (den == 0) * eps_min
    return num / den


def _quantus_ros(h_x, h_xs, e_x, e_xs, eps_min=1e-6):
    num = _quantus_norm((e_x - e_xs) / (e_x + (e_x == 0) * eps_min))
    den = np.linalg.norm(h_x - h_xs, axis=-1)
    den += (den == 0) * eps_min
    return num / den


def _quantus_lipschitz(a, b, c, d):
    """normalise_by_max on each one-item batch, then lipschitz_constant (Euclidean)."""
    a, b = a / np.abs(a).max(), b / np.abs(b).max()
    dist = lambda u, v: ((u - v) ** 2).sum(axis=-1) ** 0.5  # noqa: E731 - Quantus' own form
    return dist(a.ravel(), b.ravel()) / (dist(c.ravel(), d.ravel()) + 1e-10)


def _channel_first(case):
    """Quantus' layout: x [N, C, H, W] in [0, 1], e [N, 1, H, W], all float64."""
    x = case["clean_images"].astype(np.float64).transpose(0, 3, 1, 2) / 255
    xs = case["images"].astype(np.float64).transpose(0, 3, 1, 2) / 255
    e_x = case["reference"].astype(np.float64)[:, None]
    e_xs = case["maps"].astype(np.float64)[:, None]
    return x, xs, e_x, e_xs


def test_stability_matches_a_reimplementation_of_quantus():
    rng = np.random.default_rng(2)
    case = _case(rng, n=6)
    case["clean_images"][0, 0, 0] = 0  # exercise the x == 0 floor
    case["reference"][1, 2, 3] = 0.0  # and the e == 0 floor
    x, xs, e_x, e_xs = _channel_first(case)
    h_x, h_xs = case["clean_probs"].astype(np.float64), case["probs"].astype(np.float64)
    np.testing.assert_allclose(_stability("ris", case), _quantus_ris(x, xs, e_x, e_xs), rtol=1e-12)
    np.testing.assert_allclose(
        _stability("ros", case), _quantus_ros(h_x, h_xs, e_x, e_xs), rtol=1e-12
    )
    expected = [_quantus_lipschitz(e_x[i], e_xs[i], x[i], xs[i]) for i in range(len(x))]
    np.testing.assert_allclose(_stability("lipschitz", case), expected, rtol=1e-12)


def test_stability_matches_quantus_itself():
    quantus = pytest.importorskip("quantus")
    from quantus.functions.normalise_func import normalise_by_max
    from quantus.functions.similarity_func import distance_euclidean, lipschitz_constant

    rng = np.random.default_rng(3)
    case = _case(rng, n=5)
    case["clean_images"][2, 1, 1] = 0
    case["reference"][3, 0, 0] = 0.0
    x, xs, e_x, e_xs = _channel_first(case)
    h_x, h_xs = case["clean_probs"].astype(np.float64), case["probs"].astype(np.float64)
    ris = quantus.RelativeInputStability(nr_samples=1, disable_warnings=True)
    ros = quantus.RelativeOutputStability(nr_samples=1, disable_warnings=True)
    np.testing.assert_allclose(
        _stability("ris", case),
        ris.relative_input_stability_objective(x, xs.copy(), e_x, e_xs),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        _stability("ros", case),
        ros.relative_output_stability_objective(h_x, h_xs, e_x, e_xs),
        rtol=1e-12,
    )
    expected = [
        lipschitz_constant(
            a=normalise_by_max(e_x[i : i + 1].copy()).reshape(1, -1),
            b=normalise_by_max(e_xs[i : i + 1].copy()).reshape(1, -1),
            c=x[i : i + 1].reshape(1, -1),
            d=xs[i : i + 1].reshape(1, -1),
            norm_numerator=distance_euclidean,
            norm_denominator=distance_euclidean,
        )[0]
        for i in range(len(x))
    ]
    np.testing.assert_allclose(_stability("lipschitz", case), expected, rtol=1e-12)


# --- truth vs pred ----------------------------------------------------------------------


def test_truth_pred_metrics_are_ssd_and_xcorr_against_the_pred_map():
    rng = np.random.default_rng(4)
    truth = rng.uniform(-1, 1, (4, 5, 5)).astype(np.float32)
    pred = rng.uniform(-1, 1, (4, 5, 5)).astype(np.float32)
    pred[0] = truth[0]  # a correct prediction: the two maps are one
    pred[1] = 0.0  # an all-zero pred map: ssd undefined, xcorr of a constant map
    ssd = _score("truth_pred_ssd", truth, pred_maps=pred)
    xcorr = _score("truth_pred_xcorr", truth, pred_maps=pred)
    np.testing.assert_array_equal(ssd, METRICS.get("ssd")().score(truth, pred))
    np.testing.assert_array_equal(xcorr, METRICS.get("xcorr")().score(truth, pred))
    assert ssd[0] == 0.0 and xcorr[0] == pytest.approx(1.0)
    assert np.isnan(ssd[1]) and np.isnan(xcorr[1])
    t, p = truth[2].astype(np.float64), pred[2].astype(np.float64)
    hand = ((t - p) ** 2).sum() / np.sqrt((t**2).sum() * (p**2).sum())
    assert ssd[2] == pytest.approx(hand)
    assert xcorr[2] == pytest.approx(np.corrcoef(t.ravel(), p.ravel())[0, 1])


# --- localisation -----------------------------------------------------------------------


def test_pointing_game_tolerance_scales_with_the_image():
    assert tolerance_px((224, 224)) == 15 and tolerance_px((32, 40)) == pytest.approx(15 / 7)
    mask = np.zeros((1, 224, 224), bool)
    mask[0, 100:120, 100:120] = True
    for col, hit in ((119 + 14, 1.0), (119 + 15, 0.0)):  # distance 14 px in, 15 px out
        m = np.zeros((1, 224, 224), np.float32)
        m[0, 110, col] = 1.0
        assert _score("pointing_game", m, masks=mask)[0] == hit
    # 32 px image: tolerance 15/7 = 2.14 px, so 2 px away hits and 3 px away misses
    small = np.zeros((1, 32, 32), bool)
    small[0, 10:12, 10:12] = True
    for col, hit in ((13, 1.0), (14, 0.0)):
        m = np.zeros((1, 32, 32), np.float32)
        m[0, 11, col] = 1.0
        assert _score("pointing_game", m, masks=small)[0] == hit


def test_pointing_game_ties_and_empty_masks_follow_quantus():
    mask = np.zeros((3, 40, 40), bool)
    mask[:2, :5, :5] = True  # item 2 has an empty mask
    m = np.zeros((3, 40, 40), np.float32)
    m[0, 39, 39] = m[0, 0, 0] = 1.0  # a tied maximum inside: a hit
    m[1, 39, 39] = 1.0
    out = _score("pointing_game", m, masks=mask)
    assert out[0] == 1.0 and out[1] == 0.0 and np.isnan(out[2])


def test_relevance_mass_hand_computed():
    m = np.array([[[0.5, -1.0], [0.25, 0.25]], [[-1.0, -0.5], [-0.1, -0.2]]], np.float32)
    g = np.array([[[1, 1], [0, 0]], [[1, 0], [0, 0]]], bool)
    out = _score("relevance_mass", m, masks=g)
    assert out[0] == pytest.approx(0.5)  # positive mass 1.0, 0.5 of it inside
    assert np.isnan(out[1])  # no positive saliency
    assert np.isnan(_score("relevance_mass", m[:1], masks=np.zeros_like(g[:1]))[0])


def test_relevance_rank_hand_computed_and_ties_shared():
    g = np.array([[[1, 1, 0, 0]]], bool)
    assert _score("relevance_rank", np.array([[[0.9, 0.1, 0.5, 0.0]]]), masks=g)[0] == 0.5
    assert _score("relevance_rank", np.array([[[0.9, 0.8, 0.5, 0.0]]]), masks=g)[0] == 1.0
    # K = 2: one pixel above the cut (inside), two tied at it (one inside): 1 + 1 * 1/2
    tied = np.array([[[0.9, 0.5, 0.5, 0.0]]])
    assert _score("relevance_rank", tied, masks=g)[0] == pytest.approx(0.75)
    assert _score("relevance_rank", np.zeros((1, 1, 4)), masks=g)[0] == pytest.approx(0.5)


def _quantus_localisation(a, s):
    """Quantus' evaluate_batch formulas (pointing game without tolerance)."""
    n = a.shape[0]
    a, s = a.reshape(n, -1), s.reshape(n, -1).astype(bool)
    hit = np.any(s * (a == a.max(axis=-1, keepdims=True)), axis=-1).astype(float)
    mass = (a * s).sum(-1) / a.sum(-1)
    order = np.argsort(-a, axis=-1)
    k = s.sum(-1)
    top = np.array([[True] * kk + [False] * (a.shape[1] - kk) for kk in k])
    rank = (s[np.arange(n)[:, None], order] * top).sum(-1) / top.sum(-1)
    return hit, mass, rank


def test_localisation_matches_quantus_formulas_on_tie_free_unsigned_maps():
    rng = np.random.default_rng(5)
    a = rng.uniform(0, 1, (6, 300, 300))  # tie-free, unsigned (mass on m+ = mass on m)
    s = np.zeros(a.shape, bool)
    s[:, 100:200, 120:220] = True
    hit, mass, rank = _quantus_localisation(a, s)
    np.testing.assert_allclose(_score("relevance_mass", a, masks=s), mass, rtol=1e-12)
    np.testing.assert_allclose(_score("relevance_rank", a, masks=s), rank, rtol=1e-12)
    # far from the mask (no tolerance in Quantus) the pointing game agrees with Quantus
    a[:3, 5, 5] = 2.0
    a[3:, 150, 150] = 2.0
    hit, _, _ = _quantus_localisation(a, s)
    np.testing.assert_array_equal(_score("pointing_game", a, masks=s), hit)
    quantus = pytest.importorskip("quantus")
    kwargs = {"disable_warnings": True}
    np.testing.assert_array_equal(
        quantus.PointingGame(**kwargs).evaluate_batch(a_batch=a[:, None], s_batch=s[:, None]), hit
    )
    np.testing.assert_allclose(
        quantus.RelevanceMassAccuracy(**kwargs).evaluate_batch(
            a_batch=a[:, None], s_batch=s[:, None]
        ),
        _score("relevance_mass", a, masks=s),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        quantus.RelevanceRankAccuracy(**kwargs).evaluate_batch(
            a_batch=a[:, None], s_batch=s[:, None]
        ),
        _score("relevance_rank", a, masks=s),
        rtol=1e-12,
    )


# --- the stage: inputs from files, truth-vs-pred on the truth row only -------------------


def test_score_sweep_scores_stability_from_files_and_truth_pred_on_the_truth_row(tmp_path):
    rng = np.random.default_rng(6)
    ids = ["a", "b", "c"]
    clean_maps = rng.uniform(-1, 1, (3, 2, 6, 6)).astype(np.float32)
    copy_maps = clean_maps + rng.normal(0, 0.1, clean_maps.shape).astype(np.float32)
    for name, maps in (("clean", clean_maps), ("copy", copy_maps)):
        save_maps(
            SaliencyMaps(maps, np.zeros((3, 2), np.int64), ids, ["truth", "pred"], "m", True),
            tmp_path / f"{name}.safetensors",
        )
    clean_images = rng.integers(1, 256, (3, 6, 6, 3)).astype(np.uint8)
    copy_images = (clean_images // 2).astype(np.uint8)
    for name, images in (("clean", clean_images), ("copy", copy_images)):
        table = pd.DataFrame(
            {
                "image_id": ids,
                "image": [encode_png(i) for i in images],
                "label": [0, 1, 2],
                "mask": pd.Series([None] * 3, dtype=object),
            }
        )
        write_table(table, tmp_path / f"{name}.parquet")
    clean_probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], np.float32)
    copy_probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.2, 0.1, 0.7]], np.float32)
    save_probs(ids, clean_probs, tmp_path / "clean_probs.safetensors")
    save_probs(ids, copy_probs, tmp_path / "copy_probs.safetensors")
    specs = [{"name": n} for n in ("ris", "ros", "lipschitz", "truth_pred_ssd", "ssd")]
    common = {
        "metric_specs": specs,
        "conditions": [Condition("d", "salt", "0.1")],
        "model": "m",
        "method": "sw",
    }
    score_sweep(
        [str(tmp_path / "copy.safetensors")],
        [str(tmp_path / "copy.parquet")],
        str(tmp_path / "out.parquet"),
        reference_path=str(tmp_path / "clean.safetensors"),
        clean_images_path=str(tmp_path / "clean.parquet"),
        probs_paths=[str(tmp_path / "copy_probs.safetensors")],
        clean_probs_path=str(tmp_path / "clean_probs.safetensors"),
        **common,
    )
    out = read_table(tmp_path / "out.parquet")
    out = out.set_index(["metric", "target", "image_id"]).sort_index()
    value = out["value"]
    for target in ("truth", "pred"):
        t = ["truth", "pred"].index(target)
        context = MetricContext(
            images=copy_images,
            clean_images=clean_images,
            probs=copy_probs,
            clean_probs=clean_probs,
        )
        for name in ("ris", "ros", "lipschitz"):
            expect = METRICS.get(name)().score(copy_maps[:, t], clean_maps[:, t], None, context)
            got = value.loc[name, target].loc[ids].to_numpy()
            np.testing.assert_array_equal(got, expect)
    assert np.isnan(value[("ris", "truth", "b")])  # image b's prediction changed 1 -> 0
    pairs = value.loc["truth_pred_ssd"]
    assert set(pairs.index.get_level_values("target")) == {"truth"}
    expect = METRICS.get("ssd")().score(copy_maps[:, 0], copy_maps[:, 1])
    np.testing.assert_array_equal(pairs.loc["truth"].loc[ids].to_numpy(), expect)
    # without the clean images and softmax files (another study's DAG) they are skipped
    score_sweep(
        [str(tmp_path / "copy.safetensors")],
        [str(tmp_path / "copy.parquet")],
        str(tmp_path / "bare.parquet"),
        reference_path=str(tmp_path / "clean.safetensors"),
        **common,
    )
    assert set(read_table(tmp_path / "bare.parquet")["metric"]) == {"truth_pred_ssd", "ssd"}
    # probabilities of other images are an error naming the file
    save_probs(["a", "c", "b"], clean_probs, tmp_path / "shuffled.safetensors")
    with pytest.raises(ValueError, match="shuffled.safetensors: image ids differ"):
        score_sweep(
            [str(tmp_path / "copy.safetensors")],
            [str(tmp_path / "copy.parquet")],
            str(tmp_path / "bad.parquet"),
            reference_path=str(tmp_path / "clean.safetensors"),
            clean_images_path=str(tmp_path / "clean.parquet"),
            probs_paths=[str(tmp_path / "copy_probs.safetensors")],
            clean_probs_path=str(tmp_path / "shuffled.safetensors"),
            **common,
        )
