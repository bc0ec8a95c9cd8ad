"""Flip levels, drift as a failure predictor (AUROC, bootstrap) and the findings page, on
synthetic tables that follow the contracts (predictions, metrics, changes, summary)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from salsweep import failure, findings
from salsweep.io import FAILURE_COLUMNS, FINDING_COLUMNS, FLIP_LEVEL_COLUMNS

IDENTITY = {"gaussian_blur": 1.0, "jpeg_quality": 100.0}
LEVELS = {"gaussian_blur": [3.0, 7.0, 11.0], "jpeg_quality": [50.0, 20.0]}
DRIFT = {"ssd": False, "xcorr": True}


def _predictions(n_images: int = 8) -> pd.DataFrame:
    """Image i keeps its clean class 0 until the level whose index is i % 4 (never at 3)."""
    rows = []
    for i in range(n_images):
        label = 0 if i % 2 else 1  # odd images are right when clean, even ones wrong
        rows.append(("d", "m", "clean", 0.0, f"img-{i}", label, 0, 0.9, 0.9 if label == 0 else 0.1))
        for sweep, levels in LEVELS.items():
            for k, level in enumerate(levels):
                pred = 2 if k >= i % 4 else 0
                rows.append(("d", "m", sweep, level, f"img-{i}", label, pred, 0.5, 0.5))
    table = pd.DataFrame(
        rows,
        columns=["dataset", "model", "perturbation", "level", "image_id", "label", "pred",
                 "prob_pred", "prob_label"],
    )  # fmt: skip
    table["correct"] = table["pred"] == table["label"]
    return table


def test_drift_metrics_are_those_compared_with_the_clean_map():
    specs = [{"name": "entropy"}, {"name": "ssd"}, {"name": "xcorr"},
             {"name": "topk_iou", "k": 25}, {"name": "iou_coverage"}]  # fmt: skip
    drift = failure.drift_metrics(specs)
    assert list(drift) == ["ssd", "xcorr", "topk_iou@25"]
    assert drift == {"ssd": False, "xcorr": True, "topk_iou@25": True}


def test_flip_level_is_the_mildest_level_that_flips_and_nan_if_none():
    table = failure.flip_levels(_predictions(), IDENTITY)
    assert list(table.columns) == FLIP_LEVEL_COLUMNS
    assert len(table) == 8 * 2
    blur = table[table["perturbation"] == "gaussian_blur"].set_index("image_id")
    assert blur.loc["img-0", "flip_level"] == 3.0
    assert blur.loc["img-2", "flip_level"] == 11.0
    assert np.isnan(blur.loc["img-3", "flip_level"])  # never flips
    # JPEG quality grows milder with the level: 50 comes before 20.
    jpeg = table[table["perturbation"] == "jpeg_quality"].set_index("image_id")
    assert jpeg.loc["img-1", "flip_level"] == 20.0 and jpeg.loc["img-0", "flip_level"] == 50.0
    # img-0 (label 1) is wrong already at the mildest level; img-1 (label 0) only once it flips.
    assert blur.loc["img-0", "wrong_level"] == 3.0 and not blur.loc["img-0", "clean_correct"]
    assert blur.loc["img-1", "wrong_level"] == 7.0 and blur.loc["img-1", "clean_correct"]
    assert np.isnan(blur.loc["img-3", "wrong_level"])


def test_a_missing_clean_prediction_is_named():
    predictions = _predictions()
    predictions = predictions[
        ~((predictions["perturbation"] == "clean") & (predictions["image_id"] == "img-5"))
    ]
    with pytest.raises(ValueError, match="img-5"):
        failure.flip_levels(predictions, IDENTITY)


def test_share_flipped_and_median_flip_level():
    flips = pd.DataFrame({"flip_level": [3.0, 3.0, 7.0, np.nan]})
    assert failure.share_flipped(flips, [3.0, 7.0, 11.0], 1.0).tolist() == [0.5, 0.75, 0.75]
    assert failure.median_flip_level(flips, 1.0) == 3.0
    mostly_never = pd.DataFrame({"flip_level": [3.0, np.nan, np.nan]})
    assert np.isnan(failure.median_flip_level(mostly_never, 1.0))


def test_weighted_auroc_matches_scikit_learn_with_sample_weights():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 6, 60).astype(float)  # many ties
    positive = rng.random(60) < 0.3
    weights = rng.integers(0, 4, (7, 60)).astype(float)
    ours = failure.weighted_auroc(scores, positive, weights)
    theirs = [roc_auc_score(positive, scores, sample_weight=w) for w in weights]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_bootstrap_of_a_perfect_separation_is_exactly_one():
    scores = np.arange(40, dtype=float)
    positive = scores >= 20
    ids = np.repeat(np.arange(20), 2).astype(str)
    boot = failure.bootstrap_aurocs({"s": scores}, positive, ids, seed=1, replicates=200)["s"]
    finite = boot[np.isfinite(boot)]
    assert len(finite) > 190 and np.all(finite == 1.0)


def test_bootstrap_over_images_matches_the_known_spread_and_resamples_images_not_copies():
    """Scores independent of the outcome: AUROC 0.5 with the Hanley-McNeil standard error
    sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg)). Duplicating every copy (two identical
    copies per image) must not narrow the interval: the unit resampled is the image."""
    rng = np.random.default_rng(0)
    n = 400
    scores = rng.normal(size=n)
    positive = rng.random(n) < 0.5
    ids = np.arange(n).astype(str)
    boot = failure.bootstrap_aurocs({"s": scores}, positive, ids, seed=2, replicates=2000)["s"]
    n_pos, n_neg = positive.sum(), (~positive).sum()
    expected = np.sqrt((n_pos + n_neg + 1) / (12 * n_pos * n_neg))
    assert boot.std() == pytest.approx(expected, rel=0.1)
    twice = failure.bootstrap_aurocs(
        {"s": np.r_[scores, scores]}, np.r_[positive, positive], np.r_[ids, ids], 2, 2000
    )["s"]
    assert twice.std() == pytest.approx(boot.std(), rel=0.1)


def test_bootstrap_is_seeded():
    scores, positive, ids = np.arange(10.0), np.arange(10) % 3 == 0, np.arange(10).astype(str)
    a = failure.bootstrap_aurocs({"s": scores}, positive, ids, 5, 50)["s"]
    b = failure.bootstrap_aurocs({"s": scores}, positive, ids, 5, 50)["s"]
    c = failure.bootstrap_aurocs({"s": scores}, positive, ids, 6, 50)["s"]
    assert np.array_equal(a, b, equal_nan=True) and not np.array_equal(a, c, equal_nan=True)


def _changes(predictions: pd.DataFrame) -> pd.DataFrame:
    copies = predictions[predictions["perturbation"] != "clean"].copy()
    # The clean class keeps less probability once the prediction flips.
    copies["prob_clean_pred"] = np.where(copies["pred"] == 0, 0.8, 0.3)
    return copies[["dataset", "model", "perturbation", "level", "image_id", "prob_clean_pred"]]


def _metrics(predictions: pd.DataFrame, methods=("a", "b"), targets=("pred", "truth")):
    rng = np.random.default_rng(1)
    rows = []
    for row in predictions.itertuples():
        flipped = row.pred != 0
        for method in methods:
            for target in targets:
                for metric, higher in DRIFT.items():
                    if row.perturbation == "clean":
                        value = 1.0 if higher else 0.0
                    elif method == "a":  # drift follows the flip
                        value = (0.2 if flipped else 0.9) if higher else (1.5 if flipped else 0.2)
                    else:
                        value = rng.random()
                    rows.append(("d", "m", row.perturbation, row.level, method, target,
                                 row.image_id, metric, value))  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["dataset", "model", "perturbation", "level", "method", "target", "image_id",
                 "metric", "value"],
    )  # fmt: skip


def _failure(predictions=None, metrics=None, replicates=200):
    predictions = _predictions() if predictions is None else predictions
    metrics = _metrics(predictions) if metrics is None else metrics
    copies = failure.failure_copies(predictions, _changes(predictions), IDENTITY)
    return failure.failure_table(copies, metrics, DRIFT, seed=0, replicates=replicates)


def test_failure_table_has_a_row_for_every_group_and_orients_each_metric():
    predictions = _predictions()
    metrics = _metrics(predictions)
    # A whole group without values must still give its rows, with a note.
    metrics = metrics[~((metrics["method"] == "b") & (metrics["perturbation"] == "jpeg_quality")
                        & (metrics["target"] == "truth"))]  # fmt: skip
    table = _failure(predictions, metrics)
    assert list(table.columns) == FAILURE_COLUMNS
    sweeps, methods, targets, outcomes = 2, 2, 2, 2
    assert len(table) == sweeps * methods * targets * len(DRIFT) * outcomes
    assert not table.duplicated(FAILURE_COLUMNS[:7]).any()
    flipped = table[(table["outcome"] == "flipped") & (table["method"] == "a")]
    # Method a's drift follows the flip: AUROC 1 for both a distance and a similarity.
    assert np.allclose(flipped["auroc"], 1.0)
    # The confidence drop follows it too; the level does only partly.
    assert np.allclose(flipped["confidence_drop_auroc"], 1.0)
    assert (flipped["level_auroc"] < 1.0).all() and (flipped["level_auroc"] > 0.5).all()
    assert np.allclose(flipped["difference"], 0.0) and np.allclose(flipped["difference_low"], 0)
    empty = table[(table["method"] == "b") & (table["perturbation"] == "jpeg_quality")
                  & (table["target"] == "truth")]  # fmt: skip
    assert len(empty) == 4 and empty["auroc"].isna().all()
    assert (empty["note"] == "no perturbed copy with a drift value").all()
    assert (empty["n_pos"] == 0).all() and (empty["n_neg"] == 0).all()
    row = table[(table["outcome"] == "flipped") & (table["method"] == "a")].iloc[0]
    assert row["n_pos"] + row["n_neg"] == 8 * len(LEVELS[row["perturbation"]])
    assert row["auroc_low"] <= row["auroc"] <= row["auroc_high"]


def test_an_outcome_without_positives_gives_nan_and_a_reason():
    predictions = _predictions()
    predictions.loc[predictions["perturbation"] != "clean", "pred"] = 0  # nothing flips
    predictions["correct"] = predictions["pred"] == predictions["label"]
    table = _failure(predictions)
    flipped = table[table["outcome"] == "flipped"]
    assert flipped["auroc"].isna().all() and flipped["difference_high"].isna().all()
    assert flipped["note"].str.startswith("no flipped copy among").all()
    verdict = findings.sweep_sentence(_findings(predictions).iloc[:1])
    reason = "(no flipped copy among 24: AUROC undefined)."
    assert f"a drift cannot be scored as a flip predictor {reason}" in verdict
    wrong = table[table["outcome"] == "wrong"]
    assert wrong["auroc"].notna().all()  # the clean-wrong images stay wrong


def test_the_failure_table_is_byte_identical_across_runs(tmp_path):
    from salsweep.io import write_table

    write_table(_failure(replicates=100), tmp_path / "a.parquet")
    write_table(_failure(replicates=100), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_a_copy_missing_from_changes_is_named():
    predictions = _predictions()
    changes = _changes(predictions)
    changes = changes[~((changes["image_id"] == "img-4") & (changes["level"] == 7.0))]
    with pytest.raises(ValueError, match="img-4"):
        failure.failure_copies(predictions, changes, IDENTITY)


def _summary(predictions, metrics, floor_xcorr=0.1):
    from salsweep.stages.aggregate import summarize

    summary = summarize(predictions, metrics)
    floors = pd.DataFrame(
        [("d", "m", "floor:random_logit", np.nan, method, target, metric, 8,
          floor_xcorr if metric == "xcorr" else 2.0, 0.0, 1.0)
         for method in ("a", "b") for target in ("pred", "truth") for metric in DRIFT],
        columns=summary.columns,
    )  # fmt: skip
    return pd.concat([summary, floors], ignore_index=True)


def _findings(predictions=None, floor_xcorr=0.1, summary=True):
    predictions = _predictions() if predictions is None else predictions
    metrics = _metrics(predictions)
    table = _failure(predictions, metrics, replicates=100)
    flips = failure.flip_levels(predictions, IDENTITY)
    frame = _summary(predictions, metrics, floor_xcorr)
    if not summary:
        frame = frame[~frame["perturbation"].str.startswith("floor:")]
    return findings.findings_table(frame, flips, table, DRIFT, IDENTITY)


def test_findings_table_rows_and_numbers():
    table = _findings()
    assert list(table.columns) == FINDING_COLUMNS
    assert len(table) == 2 * 2  # (sweep, method)
    row = table[(table["perturbation"] == "gaussian_blur") & (table["method"] == "a")].iloc[0]
    assert row["target"] == "pred" and row["strongest_level"] == 11.0
    assert row["accuracy_clean"] == pytest.approx(0.5)
    assert row["median_flip_level"] == 7.0  # flips at 3, 7, 11, never: 2 of 8 by 3, 4 by 7
    assert row["auroc"] == pytest.approx(1.0)
    # Method a's maps are flipped at level 11 for 6 of 8 images: mean drift, as a share of the
    # floor's distance from an identical map.
    if row["metric"] == "xcorr":
        expected = (1 - (6 * 0.2 + 2 * 0.9) / 8) / (1 - 0.1)
    else:
        expected = ((6 * 1.5 + 2 * 0.2) / 8) / 2.0
    assert row["drift_vs_floor"] == pytest.approx(expected)


def test_a_missing_floor_gives_nan_and_a_note():
    table = _findings(summary=False)
    assert table["drift_vs_floor"].isna().all()
    assert table["note"].str.contains("no random_logit floor").all()


def test_two_different_tables_give_different_sentences():
    first = findings.sentences(_findings())
    predictions = _predictions()
    mildest_blur = (predictions["perturbation"] == "gaussian_blur") & (predictions["level"] == 3)
    predictions.loc[mildest_blur, "pred"] = 0
    predictions["correct"] = predictions["pred"] == predictions["label"]
    second = findings.sentences(_findings(predictions))
    assert first.keys() == second.keys() == {("d", "m")}
    blur_first = [s for s in first[("d", "m")] if s.startswith("Under gaussian_blur")]
    blur_second = [s for s in second[("d", "m")] if s.startswith("Under gaussian_blur")]
    assert len(blur_first) == len(blur_second) == 1 and blur_first != blur_second
    assert "flipped by level 7" in blur_first[0]
    # The JPEG sweep is unchanged, and so is its sentence.
    assert [s for s in first[("d", "m")] if "jpeg" in s] == [
        s for s in second[("d", "m")] if "jpeg" in s
    ]


def test_sentence_verdict_follows_the_interval():
    base = dict(perturbation="gaussian_noise", method="vanilla_gradient", metric="xcorr",
                accuracy_clean=0.9, accuracy_strongest=0.4, strongest_level=0.1,
                median_flip_level=np.nan, auroc=0.7, confidence_drop_auroc=0.68,
                difference=0.02, difference_low=-0.05, difference_high=0.09, note="")  # fmt: skip
    same = findings.sweep_sentence(pd.DataFrame([base]))
    assert "predicts flips no better than the confidence drop" in same
    assert "difference 0.02, 95% CI -0.05..0.09" in same
    assert "fewer than half the predictions ever flip" in same
    better = findings.sweep_sentence(pd.DataFrame([dict(base, difference_low=0.01)]))
    assert "predicts flips better than" in better


def test_findings_html_holds_each_table_and_sentence():
    table = _findings()
    page = findings.findings_html(table)
    assert page.count("<table>") == 1 and "m on d" in page
    for sentence in findings.sentences(table)[("d", "m")]:
        assert sentence.split(",")[0] in page


# --- stages and figures ----------------------------------------------------------------------


def _write_study(folder):
    """Maps and images files of every condition of d/m (one shard), as the pipeline has them."""
    from salsweep.condition import Condition, format_level
    from salsweep.io import SaliencyMaps, encode_png, save_maps, write_table

    rng = np.random.default_rng(0)
    conditions = [Condition("d", "clean", "0")] + [
        Condition("d", sweep, format_level(level))
        for sweep, levels in LEVELS.items()
        for level in levels
    ]
    ids = [f"img-{i}" for i in range(8)]
    maps, images = [], []
    for condition in conditions:
        path = folder / f"images_{condition.perturbation}_{condition.level}.parquet"
        write_table(
            pd.DataFrame({"image_id": ids, "image": [
                encode_png(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)) for _ in ids
            ]}),
            path,
        )  # fmt: skip
        images.append((condition, str(path)))
        for method in ("a", "b"):
            path = folder / f"maps_{method}_{condition.perturbation}_{condition.level}.st"
            save_maps(
                SaliencyMaps(
                    maps=rng.uniform(-1, 1, (8, 2, 16, 16)).astype(np.float32),
                    targets=np.tile([0, 2], (8, 1)),
                    image_ids=ids,
                    target_names=["truth", "pred"],
                    method=method,
                    signed=method == "a",
                    class_names=["zero", "one", "two"],
                ),
                path,
            )
            maps.append((condition, method, str(path)))
    return maps, images


def _as_fields(condition):
    return {"dataset": condition.dataset, "perturbation": condition.perturbation,
            "level": condition.level}  # fmt: skip


def _flip_examples(tmp_path) -> pd.DataFrame:
    from salsweep.io import read_table, write_table
    from salsweep.stages.flip_levels import collect_flip_examples

    write_table(failure.flip_levels(_predictions(), IDENTITY), tmp_path / "flips.parquet")
    maps, images = _write_study(tmp_path)
    collect_flip_examples(
        str(tmp_path / "flips.parquet"),
        [p for _, _, p in maps], [_as_fields(c) for c, _, _ in maps], [m for _, m, _ in maps],
        [p for _, p in images], [_as_fields(c) for c, _ in images],
        str(tmp_path / "examples.parquet"),
        dataset="d", model="m", levels=LEVELS, identity_levels=IDENTITY, per_sweep=2,
    )  # fmt: skip
    return read_table(tmp_path / "examples.parquet")


def test_flip_examples_hold_the_level_before_and_the_flip_level(tmp_path):
    from salsweep.io import EXAMPLE_COLUMNS

    table = _flip_examples(tmp_path)
    assert list(table.columns) == EXAMPLE_COLUMNS
    # Per sweep the first two images that flip: img-0 (at the mildest level: before is
    # clean) and img-1 (at the second level: before is the mildest).
    blur = table[table["perturbation"] != "jpeg_quality"]
    got = set(blur[["image_id", "perturbation", "level"]].itertuples(index=False, name=None))
    assert got == {("img-0", "clean", 0.0), ("img-0", "gaussian_blur", 3.0),
                   ("img-1", "gaussian_blur", 3.0), ("img-1", "gaussian_blur", 7.0)}  # fmt: skip
    jpeg = table[(table["perturbation"] == "jpeg_quality") & (table["image_id"] == "img-1")]
    assert sorted(jpeg["level"].unique()) == [20.0, 50.0]
    assert len(table) == 2 * 2 * len(set(got) | {("img-1", "jpeg_quality", 50.0),
                                                 ("img-1", "jpeg_quality", 20.0),
                                                 ("img-0", "jpeg_quality", 50.0)})  # fmt: skip


def test_failure_flips_and_accuracy_figures_keep_their_text_inside(tmp_path, monkeypatch):
    from PIL import Image
    from test_figures import _text_past_canvas

    from salsweep.figures import accuracy, flips, panels
    from salsweep.figures import failure as failure_figures
    from salsweep.io import write_table

    examples = _flip_examples(tmp_path)
    predictions = _predictions()
    flip_table = failure.flip_levels(predictions, IDENTITY)
    write_table(flip_table, tmp_path / "flips.parquet")
    # Long names, as the study's, must fit in the left margin.
    names = {"a": "vanilla_gradient", "b": "sliding_window"}
    write_table(_failure(replicates=50).replace({"method": names}), tmp_path / "failure.parquet")
    outside = {}

    def checked(module):
        real = module.save

        def save(fig, png, pdf, dpi):
            outside[png] = _text_past_canvas(fig)
            real(fig, png, pdf, dpi)

        return save

    for module in (accuracy, flips, failure_figures):
        monkeypatch.setattr(module, "save", checked(module))
    out = {name: (str(tmp_path / f"{name}.png"), str(tmp_path / f"{name}.pdf"))
           for name in ("failure", "flips", "accuracy", "empty")}  # fmt: skip
    failure_figures.draw_failure(
        str(tmp_path / "failure.parquet"), [("d", "m")], [out["failure"][0]], [out["failure"][1]],
        100,
    )  # fmt: skip
    flips.draw_flips(
        str(tmp_path / "examples.parquet"), str(tmp_path / "flips.parquet"),
        [("d", "m"), ("d", "other")], [out["flips"][0], out["empty"][0]],
        [out["flips"][1], out["empty"][1]], 100,
    )  # fmt: skip
    sweeps = {
        "gaussian_blur": panels.Sweep("gaussian_blur", "Gaussian blur ksize (px)", 1.0, True),
        "jpeg_quality": panels.Sweep("jpeg_quality", "JPEG quality", 100.0, False),
    }
    accuracy.accuracy_figure(predictions, sweeps, *out["accuracy"], 100, flip_table)
    for png, pdf in out.values():
        assert 200 < Image.open(png).size[0] <= 2400
        assert open(pdf, "rb").read(4) == b"%PDF"
        assert not outside.get(png), f"{png}: text past the canvas: {outside[png]}"
    assert set(outside) == {out[name][0] for name in ("failure", "flips", "accuracy")}
    curve = accuracy.flipped_curve(flip_table, predictions, sweeps)
    blur = curve[curve["perturbation"] == "gaussian_blur"]
    # 0 at the identity level, then 2, 4 and 6 of 8 images flipped.
    assert blur["share"].tolist() == [0.0, 0.25, 0.5, 0.75]
    assert len(examples)
