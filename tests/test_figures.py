"""Every figure draws from tables alone; synthetic tables, no pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salsweep.figures import accuracy, class_grids, drift, grids, method_grids, metrics, style
from salsweep.figures.panels import Sweep, display_scaled
from salsweep.io import encode_png
from salsweep.stages.saliency import expand_targets, target_indices

LEVELS = {"clean": [0.0], "gaussian_blur": [3.0, 7.0]}
BLUR = Sweep("gaussian_blur", "Gaussian blur ksize (px)", 1.0, exact_identity=True)


def _examples(targets: list[str], methods=("sliding_window", "vanilla_gradient")) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    image = encode_png(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8))
    rows = []
    for method in methods:
        for perturbation, levels in LEVELS.items():
            for level in levels:
                for t, target in enumerate(targets):
                    sal = rng.uniform(-1, 1, (12, 12)).astype(np.float16)
                    rows.append(
                        dict(
                            dataset="d",
                            model="m",
                            method=method,
                            perturbation=perturbation,
                            level=level,
                            image_id="img-0",
                            target=target,
                            class_index=t % 3,
                            class_name=f"c{t % 3}",
                            signed=True,
                            image=image,
                            map=sal.tobytes(),
                            height=12,
                            width=12,
                        )
                    )
    return pd.DataFrame(rows)


def _predictions() -> pd.DataFrame:
    rows = [
        dict(
            dataset="d",
            model="m",
            perturbation=p,
            level=lv,
            image_id=f"img-{i}",
            label=0,
            pred=i % 2,
            prob_label=0.6,
            prob_pred=0.7,
            correct=i % 2 == 0,
        )
        for p, levels in LEVELS.items()
        for lv in levels
        for i in range(4)
    ]
    return pd.DataFrame(rows)


def _metrics() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [
        dict(
            dataset="d",
            model="m",
            perturbation=p,
            level=lv,
            method=method,
            target=target,
            image_id=f"img-{i}",
            metric=metric,
            value=rng.uniform(0, 1),
        )
        for p, levels in LEVELS.items()
        for lv in levels
        for method in ("sliding_window", "vanilla_gradient")
        for target in ("truth", "pred")
        for i in range(4)
        for metric in ("entropy", "xcorr")
        if not (p == "clean" and metric == "xcorr")
    ]
    return pd.DataFrame(rows)


def _summary(tmp_path, metrics=None, predictions=None) -> pd.DataFrame:
    """summary.csv as the aggregate rule writes it, read back as figure_metrics reads it."""
    from salsweep.stages.aggregate import read_summary, summarize, write_summary

    metrics = _metrics() if metrics is None else metrics
    predictions = _predictions() if predictions is None else predictions
    path = str(tmp_path / "summary.csv")
    write_summary(summarize(predictions, metrics), path)
    return read_summary(path)


def test_summary_round_trips_through_csv(tmp_path):
    from salsweep.stages.aggregate import summarize

    written = summarize(_predictions(), _metrics())
    read = _summary(tmp_path)
    assert list(read.columns) == list(written.columns)
    assert (read["method"] == written["method"]).all()  # "" for accuracy rows, not NaN
    assert set(read.loc[read["metric"] == "accuracy", "target"]) == {""}
    for column in ("level", "n", "mean", "ci_low", "ci_high"):
        np.testing.assert_allclose(read[column], written[column], rtol=1e-9)


def test_metrics_figure_draws_the_summary_lines(tmp_path, monkeypatch):
    """Each (method, metric, target) line is summary.csv's mean, clean at the identity level."""
    calls = []
    original = style.plt.Axes.plot

    def record(ax, x, y, *args, **kwargs):
        calls.append((ax, kwargs.get("label"), list(x), list(y)))
        return original(ax, x, y, *args, **kwargs)

    monkeypatch.setattr(style.plt.Axes, "plot", record)
    summary = _summary(tmp_path)
    png, pdf = _written(tmp_path, "lines")
    metrics.metrics_figure(summary, "d", "m", BLUR, png, pdf, 80)
    drawn = {(ax.get_title(), label): (x, y) for ax, label, x, y in calls}
    table = _metrics()
    entropy = table[
        (table["method"] == "vanilla_gradient")
        & (table["metric"] == "entropy")
        & (table["target"] == "pred")
    ]
    levels, means = drawn[("entropy\nvanilla_gradient", "pred")]
    assert levels == [1.0, 3.0, 7.0]  # the clean rows (level 0) at the identity level 1.0
    expected = [entropy[entropy["level"] == lv]["value"].mean() for lv in (0.0, 3.0, 7.0)]
    np.testing.assert_allclose(means, expected, rtol=1e-9)


def test_paper_style_is_seaborns(monkeypatch):
    import matplotlib as mpl
    import seaborn as sns

    with mpl.rc_context():
        sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1)
        theirs = {key: mpl.rcParams[key] for key in style.PAPER_STYLE}
    with mpl.rc_context():
        style.set_style()
        ours = {key: mpl.rcParams[key] for key in style.PAPER_STYLE}
    for key, value in theirs.items():
        if isinstance(value, float):
            assert ours[key] == pytest.approx(value), key
        else:
            assert ours[key] == value, key


def _written(tmp_path, stem):
    png, pdf = tmp_path / f"{stem}.png", tmp_path / f"{stem}.pdf"
    return str(png), str(pdf)


def _check(png: str, pdf: str) -> None:
    from PIL import Image

    assert Image.open(png).size[0] > 200
    with open(pdf, "rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF") and b"CreationDate" not in data


def test_accuracy_metrics_and_drift_figures(tmp_path):
    png, pdf = _written(tmp_path, "acc")
    accuracy.accuracy_figure(_predictions(), {"gaussian_blur": BLUR}, png, pdf, 80)
    _check(png, pdf)
    png, pdf = _written(tmp_path, "metrics")
    metrics.metrics_figure(_summary(tmp_path), "d", "m", BLUR, png, pdf, 80)
    _check(png, pdf)
    png, pdf = _written(tmp_path, "drift")
    drift.drift_heatmap(_metrics(), png, pdf, 80)
    _check(png, pdf)


def test_grid_figures(tmp_path):
    examples = _examples(["truth", "pred"])
    png, pdf = _written(tmp_path, "grid")
    grids.grid_figure(
        examples[examples["method"] == "sliding_window"], _predictions(), png, pdf, 80
    )
    _check(png, pdf)
    png, pdf = _written(tmp_path, "methods")
    method_grids.methods_figure(examples, png, pdf, 80)
    _check(png, pdf)


def test_class_grid_marks_truth_and_prediction(tmp_path):
    examples = _examples(["truth", "pred", "class_0", "class_1", "class_2"])
    png, pdf = _written(tmp_path, "classes")
    class_grids.class_grid_figure(examples[examples["method"] == "sliding_window"], png, pdf, 80)
    _check(png, pdf)


def test_figures_rebuild_from_tables_is_deterministic(tmp_path):
    first, second = _written(tmp_path, "a"), _written(tmp_path, "b")
    for png, pdf in (first, second):
        accuracy.accuracy_figure(_predictions(), {"gaussian_blur": BLUR}, png, pdf, 80)
    assert open(first[0], "rb").read() == open(second[0], "rb").read()
    assert open(first[1], "rb").read() == open(second[1], "rb").read()


def test_display_scaling_keeps_sign_and_clips():
    sal = np.zeros((10, 10), np.float32)
    sal[0, 0], sal[1, 1:] = -1.0, 0.01
    shown = display_scaled(sal)
    assert shown.min() == -1.0 and np.all(shown[1, 1:] > 0) and shown.max() <= 1.0


def test_all_targets_expand_to_every_class():
    assert expand_targets(["truth", "all"], 3) == ["truth", "class_0", "class_1", "class_2"]
    with pytest.raises(ValueError, match="saliency.targets"):
        expand_targets(["all"], 1000)
    predictions = pd.DataFrame({"label": [2, 0], "pred": [1, 1]})
    indices = target_indices(predictions, ["truth", "pred", "class_0", "class_2"])
    assert indices.tolist() == [[2, 1, 0, 2], [0, 1, 0, 2]]


def test_an_example_index_past_the_data_gets_a_page_that_says_so(tmp_path):
    from salsweep.io import write_table

    write_table(_examples(["truth", "pred"]), tmp_path / "examples.parquet")
    png, pdf = _written(tmp_path, "missing")
    method_grids.draw_method_grids(
        str(tmp_path / "examples.parquet"), [("d", "m", 5)], [png], [pdf], 80
    )
    _check(png, pdf)


def test_an_empty_metrics_table_draws_a_placeholder(tmp_path):
    from salsweep.stages.aggregate import concat_tables
    from salsweep.stages.map_metrics import METRIC_COLUMNS

    empty = concat_tables([], METRIC_COLUMNS, ["dataset"])
    png, pdf = _written(tmp_path, "empty")
    metrics.metrics_figure(_summary(tmp_path, empty, _predictions()), "d", "m", BLUR, png, pdf, 80)
    _check(png, pdf)
    png, pdf = _written(tmp_path, "empty_drift")
    drift.drift_heatmap(empty, png, pdf, 80)
    _check(png, pdf)
