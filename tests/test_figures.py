"""Every figure draws from tables alone; synthetic tables, no pipeline."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO

from salsweep.figures import accuracy, class_grids, drift, grids, method_grids, metrics, style
from salsweep.figures.panels import Sweep, display_scaled, sweeps_from
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
    from salsweep.io import read_summary, write_summary
    from salsweep.stages.aggregate import summarize

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
    from salsweep.io import METRIC_COLUMNS
    from salsweep.stages.aggregate import concat_tables

    empty = concat_tables([], METRIC_COLUMNS, ["dataset"])
    png, pdf = _written(tmp_path, "empty")
    metrics.metrics_figure(_summary(tmp_path, empty, _predictions()), "d", "m", BLUR, png, pdf, 80)
    _check(png, pdf)
    png, pdf = _written(tmp_path, "empty_drift")
    drift.drift_heatmap(empty, png, pdf, 80)
    _check(png, pdf)


# -- figures a reader can read, drawn from tables shaped like the default study's ----------
MAX_WIDTH_PX = 2400
MIN_PANEL_CM = 5.0
DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
DEFAULT_DPI = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())[
    "properties"
]["figures"]["properties"]["dpi"]["default"]
PAIRS = [("photos", "lite0"), ("digits", "cnn")]
DRIFT_METRICS = ("ssd", "xcorr", "topk_iou")  # compare with the clean map: none for clean


def _sweeps(perturbations: dict) -> dict[str, Sweep]:
    """The sweeps as rules/common.smk hands them to the figure rules."""
    from salsweep.perturbations import PERTURBATIONS

    identity, axes = {}, {}
    for name, spec in perturbations.items():
        kind = PERTURBATIONS.get(spec.get("kind", name))
        params = spec.get("params", {})
        identity[name] = kind.identity_level
        axes[name] = {
            "label": kind.level_label_for(params),
            "exact_identity": kind.exact_identity_for(params),
        }
    return sweeps_from(identity, axes)


def _conditions(perturbations: dict) -> list[tuple[str, float]]:
    return [("clean", 0.0)] + [
        (name, float(level)) for name, spec in perturbations.items() for level in spec["levels"]
    ]


def _default_tables(perturbations: dict, n_images: int = 6):
    """predictions, metrics and examples tables with the default study's shape."""
    from salsweep.metrics import metric_label

    labels = [
        metric_label(m["name"], {k: v for k, v in m.items() if k != "name"})
        if isinstance(m, dict)
        else metric_label(m)
        for m in DEFAULT["metrics"]
    ]
    methods = sorted(DEFAULT["saliency"]["methods"])
    targets = DEFAULT["saliency"]["targets"]
    rng = np.random.default_rng(3)
    image = encode_png(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    predictions, metric_rows, examples = [], [], []
    for (dataset, model), (perturbation, level) in itertools.product(
        PAIRS, _conditions(perturbations)
    ):
        for i in range(n_images):
            correct = bool(rng.random() < 0.8)
            predictions.append(
                dict(dataset=dataset, model=model, perturbation=perturbation, level=level,
                     image_id=f"{dataset}-{i}", label=0, pred=0 if correct else 1,
                     prob_label=0.7, prob_pred=0.8, correct=correct)
            )  # fmt: skip
        for method, target, label in itertools.product(methods, targets, labels):
            if perturbation == "clean" and label.split("@")[0] in DRIFT_METRICS:
                continue
            for i in range(n_images):
                metric_rows.append(
                    dict(dataset=dataset, model=model, perturbation=perturbation, level=level,
                         method=method, target=target, image_id=f"{dataset}-{i}",
                         metric=label, value=rng.uniform(0, 1))
                )  # fmt: skip
        for method, target, i in itertools.product(methods, targets, range(2)):
            sal = rng.uniform(-1, 1, (16, 16)).astype(np.float16)
            examples.append(
                dict(dataset=dataset, model=model, method=method, perturbation=perturbation,
                     level=level, image_id=f"{dataset}-{i}", target=target, class_index=0,
                     class_name="a class name", signed=True, image=image, map=sal.tobytes(),
                     height=16, width=16)
            )  # fmt: skip
    return pd.DataFrame(predictions), pd.DataFrame(metric_rows), pd.DataFrame(examples)


def _text_past_canvas(fig) -> list[str]:
    """Every drawn text artist whose extent leaves the figure (1 px of slack). Tick labels
    are checked through their axes' tight bbox: an axis keeps spare tick objects it does
    not draw."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox

    def past(box) -> bool:
        return (
            box.x0 < canvas.x0 - 1
            or box.y0 < canvas.y0 - 1
            or box.x1 > canvas.x1 + 1
            or box.y1 > canvas.y1 + 1
        )

    ticks = set()
    outside = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks.update((tick.label1, tick.label2))
        if past(ax.get_tightbbox(renderer)):
            outside.append(f"axes {ax.get_title()!r} with its tick labels")
    for text in fig.findobj(matplotlib.text.Text):
        if text in ticks or not text.get_visible() or not text.get_text().strip():
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        if past(text.get_window_extent(renderer)):
            outside.append(repr(text.get_text()))
    return outside


@pytest.fixture(scope="module")
def default_figures(tmp_path_factory):
    """Every figure kind of the default study drawn at the default dpi: for each, its PNG
    path, pixel size, texts past the canvas and narrowest panel (cm)."""
    from PIL import Image

    from salsweep.io import write_table
    from salsweep.stages.aggregate import summarize, write_summary

    folder = tmp_path_factory.mktemp("default_figures")
    perturbations = DEFAULT["perturbations"]
    predictions, metric_table, examples = _default_tables(perturbations)
    for name, table in (("predictions", predictions), ("metrics", metric_table)):
        write_table(table, folder / f"{name}.parquet")
    write_table(examples, folder / "examples.parquet")
    write_summary(summarize(predictions, metric_table), str(folder / "summary.csv"))
    sweeps = _sweeps(perturbations)
    identity = {name: sweep.identity_level for name, sweep in sweeps.items()}
    level_axes = {
        name: {"label": s.label, "exact_identity": s.exact_identity} for name, s in sweeps.items()
    }
    drawn = {}

    def checked(module):
        real = module.save

        def save(fig, png, pdf, dpi):
            fig.set_dpi(dpi)
            axes = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]
            narrowest = min(
                (ax.get_position().width * fig.get_figwidth() * 2.54 for ax in axes),
                default=float("inf"),
            )
            outside = _text_past_canvas(fig)
            real(fig, png, pdf, dpi)
            drawn[Path(png).name] = dict(
                size=Image.open(png).size, outside=outside, narrowest_cm=narrowest
            )

        return save

    def files(stem, n):
        return [str(folder / f"{stem}_{i}.png") for i in range(n)], [
            str(folder / f"{stem}_{i}.pdf") for i in range(n)
        ]

    with pytest.MonkeyPatch.context() as patch:
        for module in (accuracy, metrics, grids, drift, method_grids):
            patch.setattr(module, "save", checked(module))
        accuracy.draw_accuracy(
            str(folder / "predictions.parquet"), identity, level_axes,
            str(folder / "accuracy.png"), str(folder / "accuracy.pdf"), DEFAULT_DPI,
        )  # fmt: skip
        panels = [(d, m, p) for d, m in PAIRS for p in perturbations]
        pngs, pdfs = files("metrics", len(panels))
        metrics.draw_metrics(
            str(folder / "summary.csv"), panels, identity, level_axes, pngs, pdfs, DEFAULT_DPI
        )
        keys = [(d, m, method, i) for d, m in PAIRS for method in ("sliding_window",) for i in (0,)]
        pngs, pdfs = files("grid", len(keys))
        grids.draw_grids(
            str(folder / "examples.parquet"), str(folder / "predictions.parquet"), keys,
            pngs, pdfs, DEFAULT_DPI,
        )  # fmt: skip
        drift.draw_drift(
            str(folder / "metrics.parquet"), str(folder / "drift_heatmap.png"),
            str(folder / "drift_heatmap.pdf"), DEFAULT_DPI,
        )  # fmt: skip
        pngs, pdfs = files("methods", len(PAIRS))
        method_grids.draw_method_grids(
            str(folder / "examples.parquet"), [(d, m, 0) for d, m in PAIRS], pngs, pdfs,
            DEFAULT_DPI,
        )  # fmt: skip
    return drawn


def test_default_figures_fit_the_page_and_keep_their_text_inside(default_figures):
    assert {"accuracy.png", "drift_heatmap.png", "metrics_0.png", "grid_0.png"} <= set(
        default_figures
    )
    for name, figure in default_figures.items():
        width, height = figure["size"]
        assert width <= MAX_WIDTH_PX, f"{name} is {width} px wide"
        assert not figure["outside"], f"{name}: text past the canvas: {figure['outside']}"
        if name.startswith(("metrics", "accuracy", "drift")):
            assert figure["narrowest_cm"] >= MIN_PANEL_CM, f"{name}: {figure['narrowest_cm']}"


def test_every_level_axis_names_its_parameter_and_unit():
    from salsweep.perturbations import PERTURBATIONS

    kinds = [name for name in PERTURBATIONS.names() if name != "nrtk"]  # nrtk: from params
    labels = {name: PERTURBATIONS.get(name).level_label for name in kinds}
    assert labels["gaussian_blur"] == "Gaussian blur ksize (px)"
    assert labels["jpeg_quality"] == "JPEG quality"
    assert "variance" in labels["gaussian_noise"] and "amount" in labels["salt"]
    assert all(label and label != "level" for label in labels.values()), labels
    nrtk = PERTURBATIONS.get("nrtk")
    assert nrtk.level_label_for({"level_param": "ksize"}) == "ksize"
    assert nrtk.level_label_for({"level_param": "ksize", "level_label": "ksize (px)"}) == (
        "ksize (px)"
    )


def test_the_clean_image_is_drawn_apart_where_the_identity_is_not_exact(tmp_path, monkeypatch):
    """jpeg_quality 100 moves pixels: the clean accuracy is its own marker beyond the sweep,
    not a point of the quality line; gaussian_blur's clean point sits at ksize 1."""
    perturbations = {
        "gaussian_blur": {"levels": [3, 7]},
        "jpeg_quality": {"levels": [30, 60, 90]},
    }
    sweeps = _sweeps(perturbations)
    assert sweeps["gaussian_blur"].clean_on_line and not sweeps["jpeg_quality"].clean_on_line
    predictions, _, _ = _default_tables(perturbations)
    figures = []
    monkeypatch.setattr(accuracy, "save", lambda fig, *args: figures.append(fig))
    accuracy.accuracy_figure(predictions, sweeps, "unused.png", "unused.pdf", 80)
    (fig,) = figures
    blur, jpeg = fig.axes[:2]
    assert blur.get_xlabel() == "Gaussian blur ksize (px)"
    assert jpeg.get_xlabel() == "JPEG quality"
    blur_x = sorted({x for line in blur.get_lines() for x in line.get_xdata()})
    assert blur_x[0] == 1.0  # the clean point, on the line
    jpeg_lines = [line for line in jpeg.get_lines() if line.get_marker() == "o"]
    assert all(set(line.get_xdata()) == {30, 60, 90} for line in jpeg_lines)
    apart = [line for line in jpeg.get_lines() if line.get_marker() == "D"]
    assert apart and all(line.get_xdata()[0] > 90 for line in apart)
    assert "clean" in [t.get_text() for t in jpeg.get_xticklabels()]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("no exact identity" in text for text in legend)
    assert not _text_past_canvas(fig)


def test_class_grids_with_nothing_to_draw_write_nothing(tmp_path):
    """A study without targets: all gives figure_class_grids no grids and no outputs:
    `--forcerun figure_class_grids` then runs it with nothing to do, and it succeeds."""
    class_grids.draw_class_grids(str(tmp_path / "absent.parquet"), [], [], [], 80)
    assert not list(tmp_path.iterdir())


# -- the report's "Scale": floors, drift against change, sanity (issue 12, contracts C2/C3) --
FLOORS = ("random_logit", "randomised_head", "randomised_all")
CHANGE_COLUMNS = ["dataset", "model", "perturbation", "level", "image_id", "psnr", "ssim",
                  "input_l2", "kl", "prob_clean_pred", "flipped"]  # fmt: skip
FLOOR_COLUMNS = ["dataset", "model", "method", "target", "floor", "image_id", "metric", "value"]


def _floor_table(metric_table: pd.DataFrame, floors=FLOORS, n_images: int = 4) -> pd.DataFrame:
    """floors.parquet (C3) for every (dataset, model, method, target, drift metric) of
    ``metric_table``: the drift metrics are those with no clean rows."""
    rng = np.random.default_rng(5)
    clean = set(metric_table.loc[metric_table["perturbation"] == "clean", "metric"])
    drift_names = sorted(set(metric_table["metric"]) - clean)
    keys = metric_table[["dataset", "model", "method", "target"]].drop_duplicates()
    rows = [
        dict(dataset=d, model=m, method=method, target=t, floor=floor, image_id=f"{d}-{i}",
             metric=metric, value=rng.uniform(-0.2, 0.4) if metric.startswith("xcorr") else
             rng.uniform(0, 1))
        for d, m, method, t in keys.itertuples(index=False)
        for floor in floors
        for metric in drift_names
        for i in range(n_images)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=FLOOR_COLUMNS)


def _with_floor_rows(metric_table: pd.DataFrame, floor_table: pd.DataFrame) -> pd.DataFrame:
    """The metric rows plus floors.parquet's rows as summary.csv's floor:<floor> rows (C3):
    perturbation floor:<floor>, level NaN, summarised like every other metric row."""
    as_metrics = floor_table.assign(
        perturbation="floor:" + floor_table["floor"], level=np.nan
    ).drop(columns="floor")
    return pd.concat([metric_table, as_metrics[metric_table.columns]], ignore_index=True)


def _changes(perturbations: dict, pairs=PAIRS, n_images: int = 6) -> pd.DataFrame:
    """changes.parquet (C2): every perturbed copy; SSIM falls and KL rises with the level."""
    rng = np.random.default_rng(6)
    rows = []
    for (dataset, model), (name, spec) in itertools.product(pairs, perturbations.items()):
        for rank, level in enumerate(spec["levels"], start=1):
            for i in range(n_images):
                rows.append(
                    dict(dataset=dataset, model=model, perturbation=name, level=float(level),
                         image_id=f"{dataset}-{i}", psnr=40.0 / rank, ssim=1 - 0.15 * rank *
                         rng.uniform(0.5, 1), input_l2=rank * 3.0, kl=0.02 * rank**2 *
                         rng.uniform(0.5, 2), prob_clean_pred=1 - 0.1 * rank,
                         flipped=bool(rng.random() < 0.1 * rank))
                )  # fmt: skip
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _summary_with_floors(folder: Path, perturbations: dict, floors=FLOORS):
    """summary.csv with floor rows, as the aggregate rule writes it after H8's merge."""
    from salsweep.io import read_summary, write_summary
    from salsweep.stages.aggregate import summarize

    predictions, metric_table, examples = _default_tables(perturbations)
    table = _with_floor_rows(metric_table, _floor_table(metric_table, floors))
    write_summary(summarize(predictions, table), str(folder / "summary.csv"))
    return read_summary(folder / "summary.csv"), metric_table, examples


def _sanity_examples(examples: pd.DataFrame, floors=FLOORS) -> pd.DataFrame:
    """The sanity examples table of each pair: the clean rows of its first example image
    and one map per floor, as rule sanity_examples writes it."""
    rng = np.random.default_rng(7)
    clean = examples[(examples["perturbation"] == "clean")]
    clean = clean[clean["image_id"].isin(clean.groupby(["dataset"])["image_id"].first())]
    parts = [clean]
    for floor in floors:
        maps = [
            rng.uniform(-1, 1, (16, 16)).astype(np.float16).tobytes() for _ in range(len(clean))
        ]
        parts.append(clean.assign(perturbation=f"floor:{floor}", level=np.nan, map=maps))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def scale_figures(tmp_path_factory):
    """The metrics figure with floor bands, drift_vs_change and sanity figures of the
    default study's shape at the default dpi; per PNG name its size and texts past the
    canvas, and the figure objects themselves (kept open)."""
    from PIL import Image

    from salsweep.figures import drift_vs_change, sanity
    from salsweep.io import write_table

    folder = tmp_path_factory.mktemp("scale_figures")
    perturbations = DEFAULT["perturbations"]
    summary, _, examples = _summary_with_floors(folder, perturbations)
    write_table(_changes(perturbations), folder / "changes.parquet")
    sanity_paths = []
    for dataset, model in PAIRS:
        table = _sanity_examples(examples)
        path = folder / f"sanity_examples_{dataset}.parquet"
        write_table(table[(table["dataset"] == dataset) & (table["model"] == model)], path)
        sanity_paths.append(str(path))
    drawn = {}

    def checked(fig, png, pdf, dpi):
        fig.set_dpi(dpi)
        outside = _text_past_canvas(fig)
        style.save(fig, png, pdf, dpi)
        drawn[Path(png).name] = dict(size=Image.open(png).size, outside=outside, fig=fig)

    with pytest.MonkeyPatch.context() as patch:
        for module in (metrics, drift_vs_change, sanity):
            patch.setattr(module, "save", checked)
        sweeps = _sweeps(perturbations)
        for d, m in PAIRS:
            metrics.metrics_figure(
                summary, d, m, sweeps["gaussian_blur"], str(folder / f"floors_{d}.png"),
                str(folder / f"floors_{d}.pdf"), DEFAULT_DPI,
            )  # fmt: skip
        pngs = [str(folder / f"drift_vs_change_{d}_{m}.png") for d, m in PAIRS]
        drift_vs_change.draw_drift_vs_change(
            str(folder / "summary.csv"), str(folder / "changes.parquet"), PAIRS, pngs,
            [p.replace(".png", ".pdf") for p in pngs], DEFAULT_DPI,
        )  # fmt: skip
        pngs = [str(folder / f"sanity_{d}_{m}.png") for d, m in PAIRS]
        sanity.draw_sanity(
            sanity_paths, str(folder / "summary.csv"), pngs,
            [p.replace(".png", ".pdf") for p in pngs], DEFAULT_DPI,
        )  # fmt: skip
    return drawn


def test_scale_figures_fit_the_page_and_keep_their_text_inside(scale_figures):
    names = {"floors_photos.png", "drift_vs_change_photos_lite0.png", "sanity_digits_cnn.png"}
    assert names <= set(scale_figures)
    for name, figure in scale_figures.items():
        width, _ = figure["size"]
        assert width <= MAX_WIDTH_PX, f"{name} is {width} px wide"
        assert not figure["outside"], f"{name}: text past the canvas: {figure['outside']}"


def _drawn_figure(monkeypatch, module, draw, *args):
    figures = []
    monkeypatch.setattr(module, "save", lambda fig, *rest: figures.append(fig))
    draw(*args, "unused.png", "unused.pdf", 80)
    (fig,) = figures
    return fig


def _floor_lines(ax) -> list[float]:
    """The y of every horizontal floor line (a mean) in a panel: dashed/dotted, two points
    spanning the axes."""
    return [
        float(line.get_ydata()[0])
        for line in ax.get_lines()
        if line.get_linestyle() in (":", "--", "-.") and len(set(line.get_ydata())) == 1
        and list(line.get_xdata()) == [0, 1]
    ]  # fmt: skip


def test_floor_bands_are_drawn_only_from_floor_rows(tmp_path, monkeypatch):
    """Each floor's mean is a line across the drift metric's panel (truth target), with its
    CI shaded; a summary without floor rows draws the same figure as before, no bands."""
    perturbations = {"gaussian_blur": {"levels": [3, 7]}}
    summary, metric_table, _ = _summary_with_floors(tmp_path, perturbations)
    sweep = _sweeps(perturbations)["gaussian_blur"]
    fig = _drawn_figure(
        monkeypatch, metrics, metrics.metrics_figure, summary, "digits", "cnn", sweep
    )
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    xcorr = panels["xcorr\nvanilla_gradient"]
    expected = summary[
        (summary["dataset"] == "digits") & (summary["method"] == "vanilla_gradient")
        & (summary["metric"] == "xcorr") & (summary["target"] == "truth")
        & summary["perturbation"].str.startswith("floor:")
    ].set_index("perturbation")  # fmt: skip
    assert len(expected) == 3
    np.testing.assert_allclose(sorted(_floor_lines(xcorr)), sorted(expected["mean"]), rtol=1e-9)
    spans = [p for p in xcorr.patches if p.get_alpha() == pytest.approx(0.14)]
    assert len(spans) == 3
    assert _floor_lines(panels["entropy\nvanilla_gradient"]) == []  # no floors: no bands
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert {"random_logit", "randomised_head", "randomised_all"} <= set(legend_texts)

    plain = summary[~summary["perturbation"].str.startswith("floor:")]
    fig = _drawn_figure(monkeypatch, metrics, metrics.metrics_figure, plain, "digits", "cnn", sweep)
    for ax in fig.axes:
        assert _floor_lines(ax) == [] and not ax.patches, ax.get_title()
    assert len(fig.legends) == 1


def test_drift_vs_change_puts_each_sweep_at_its_mean_change(tmp_path, monkeypatch):
    from salsweep.figures import drift_vs_change

    assert drift_vs_change.drift_metrics(["entropy", "ssd", "topk_iou@25", "xcorr"]) == [
        "xcorr",
        "topk_iou@25",
    ]
    assert drift_vs_change.drift_metrics(["ssd", "entropy"]) == ["ssd"]
    perturbations = {"gaussian_blur": {"levels": [3, 7]}, "gaussian_noise": {"levels": [0.1]}}
    summary, _, _ = _summary_with_floors(tmp_path, perturbations)
    changes = _changes(perturbations)
    fig = _drawn_figure(
        monkeypatch, drift_vs_change, drift_vs_change.drift_vs_change_figure, summary,
        changes, "photos", "lite0",
    )  # fmt: skip
    panels = {ax.get_title(): ax for ax in fig.axes}
    assert set(panels) == {
        f"{method}: {metric} against {x}"
        for method in ("sliding_window", "vanilla_gradient")
        for metric in ("xcorr", "topk_iou@10")
        for x in ("SSIM", "KL")
    }
    blur = changes[(changes["dataset"] == "photos") & (changes["perturbation"] == "gaussian_blur")]
    for x, column in (("SSIM", "ssim"), ("KL", "kl")):
        ax = panels[f"sliding_window: xcorr against {x}"]
        lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
        assert len(lines) == 4  # 2 sweeps x 2 targets, on one axis
        expected = blur.groupby("level")[column].mean().to_numpy()
        assert any(np.allclose(line.get_xdata(), expected) for line in lines)
    assert panels["sliding_window: xcorr against SSIM"].xaxis_inverted()
    assert panels["sliding_window: xcorr against KL"].get_xscale() == "symlog"


def test_sanity_figure_titles_give_each_floors_mean_xcorr(tmp_path, monkeypatch):
    from salsweep.figures import sanity

    perturbations = {"gaussian_blur": {"levels": [3]}}
    summary, _, examples = _summary_with_floors(tmp_path, perturbations)
    table = _sanity_examples(examples)
    table = table[table["dataset"] == "photos"]
    fig = _drawn_figure(monkeypatch, sanity, sanity.sanity_figure, table, summary)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 2 * 5  # 2 methods x (image, clean, 3 floors)
    row = summary[
        (summary["dataset"] == "photos") & (summary["method"] == "sliding_window")
        & (summary["metric"] == "xcorr") & (summary["target"] == "truth")
        & (summary["perturbation"] == "floor:randomised_all")
    ].iloc[0]  # fmt: skip
    assert f"randomised_all\nmean XCorr {row['mean']:.2f} [{row['ci_low']:.2f}," in "".join(titles)
    assert titles[:2] == ["image photos-0\ntruth: a class name", "clean map\n(trained model)"]


def test_figure_rules_with_nothing_to_draw_write_nothing(tmp_path):
    """floors: [] gives figure_sanity no pairs and no outputs; it succeeds, drawing nothing."""
    from salsweep.figures import sanity

    (tmp_path / "summary.csv").write_text(",".join(SUMMARY_HEADER) + "\n")
    sanity.draw_sanity([], str(tmp_path / "summary.csv"), [], [], 80)
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


SUMMARY_HEADER = ["dataset", "model", "perturbation", "level", "method", "target", "metric",
                  "n", "mean", "ci_low", "ci_high"]  # fmt: skip


def test_a_one_panel_metrics_figure_keeps_its_floor_legend_inside(tmp_path, monkeypatch):
    perturbations = {"gaussian_blur": {"levels": [3, 7]}}
    summary, _, _ = _summary_with_floors(tmp_path, perturbations)
    only_xcorr = summary[summary["metric"].isin(["xcorr", "accuracy"])]
    sweep = _sweeps(perturbations)["gaussian_blur"]
    fig = _drawn_figure(
        monkeypatch, metrics, metrics.metrics_figure, only_xcorr, "digits", "cnn", sweep
    )
    assert fig.get_figwidth() < 4  # one panel a row
    assert len(fig.legends) == 2 and not _text_past_canvas(fig)


# -- the corruption study's 16 sweeps (15 ImageNet-C corruptions and rotation) -----------
CORRUPTIONS = [
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
    "elastic_transform", "pixelate", "jpeg_compression",
]  # fmt: skip
CORRUPTION_SWEEPS = {name: [1, 2, 3, 4, 5] for name in CORRUPTIONS} | {"rotation": [5, 10, 15, 30]}


def _corruption_sweeps() -> dict[str, Sweep]:
    """The sweeps as the figure rules get them: each severity 0 and rotation 0 are exact."""
    sweeps = {
        name: Sweep(name, f"{name} severity (ImageNet-C, 1-5)", 0.0, exact_identity=True)
        for name in CORRUPTIONS
    }
    sweeps["rotation"] = Sweep("rotation", "rotation angle (degrees)", 0.0, exact_identity=True)
    return sweeps


def _overlapping_tick_labels(fig) -> list[str]:
    """Neighbouring tick labels of one axis whose drawn extents overlap (a reader cannot
    tell them apart); run after _text_past_canvas, which draws the figure."""
    renderer = fig.canvas.get_renderer()
    found = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            for (a, box_a), (b, box_b) in itertools.pairwise(zip(labels, boxes, strict=True)):
                if box_a.overlaps(box_b):
                    found.append(f"{ax.get_title()!r}: {a.get_text()!r} / {b.get_text()!r}")
    return found


@pytest.fixture(scope="module")
def corruption_figures(tmp_path_factory):
    """The accuracy figure (with its flip-share panels), the 16 metrics figures of one pair
    and the drift heatmap of a 16-sweep study at the default dpi: per PNG name its pixel
    size, texts past the canvas and narrowest panel (cm)."""
    from PIL import Image

    from salsweep.failure import flip_levels

    folder = tmp_path_factory.mktemp("corruption_figures")
    perturbations = {name: {"levels": levels} for name, levels in CORRUPTION_SWEEPS.items()}
    predictions, metric_table, _ = _default_tables(perturbations, n_images=4)
    summary = _summary(folder, metric_table, predictions)
    sweeps = _corruption_sweeps()
    flips = flip_levels(predictions, {name: s.identity_level for name, s in sweeps.items()})
    drawn = {}

    def checked(fig, png, pdf, dpi):
        fig.set_dpi(dpi)
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]
        narrowest = min(ax.get_position().width * fig.get_figwidth() * 2.54 for ax in axes)
        outside = _text_past_canvas(fig)
        overlaps = _overlapping_tick_labels(fig)
        style.save(fig, png, pdf, dpi)
        drawn[Path(png).name] = dict(
            size=Image.open(png).size, outside=outside, narrowest_cm=narrowest, overlaps=overlaps
        )

    with pytest.MonkeyPatch.context() as patch:
        for module in (accuracy, metrics, drift):
            patch.setattr(module, "save", checked)
        accuracy.accuracy_figure(
            predictions, sweeps, str(folder / "accuracy.png"), str(folder / "accuracy.pdf"),
            DEFAULT_DPI, flips,
        )  # fmt: skip
        dataset, model = PAIRS[0]
        for name, sweep in sweeps.items():
            metrics.metrics_figure(
                summary, dataset, model, sweep, str(folder / f"metrics_{name}.png"),
                str(folder / f"metrics_{name}.pdf"), DEFAULT_DPI,
            )  # fmt: skip
        drift.drift_heatmap(
            metric_table, str(folder / "drift_heatmap.png"), str(folder / "drift_heatmap.pdf"),
            DEFAULT_DPI,
        )  # fmt: skip
    drawn["folder"] = folder
    return drawn


def test_sixteen_sweep_figures_fit_the_page_and_keep_their_text_inside(corruption_figures):
    figures = dict(corruption_figures)
    figures.pop("folder")
    expected = {"accuracy.png", "drift_heatmap.png"} | {
        f"metrics_{name}.png" for name in CORRUPTION_SWEEPS
    }
    assert set(figures) == expected
    for name, figure in figures.items():
        width, _ = figure["size"]
        assert width <= MAX_WIDTH_PX, f"{name} is {width} px wide"
        assert not figure["outside"], f"{name}: text past the canvas: {figure['outside']}"
        assert not figure["overlaps"], f"{name}: tick labels overlap: {figure['overlaps'][:3]}"
        assert figure["narrowest_cm"] >= MIN_PANEL_CM, f"{name}: {figure['narrowest_cm']:.1f} cm"
