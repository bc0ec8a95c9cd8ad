import copy
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The package lives in src/; jobs (local, conda or cluster) find it through PYTHONPATH.
SRC_DIR = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC_DIR)
# Set here (not required from the user) because every job, cluster jobs too, parses this.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [SRC_DIR] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
)

from salsweep.config import (
    CLEAN,
    CLEAN_LEVEL,
    ConfigError,
    Study,
    check_level_specs,
    expand_corruption_sets,
)

# A study given with --configfile replaces the default study instead of being merged
# into it (Snakemake merges by default, which would add the default datasets to a study).
if workflow.overwrite_configfiles:
    config.clear()
    config.update(copy.deepcopy(workflow.config_settings.overwrite_config))

try:
    # The imagenet_c shorthand first: the schema's checks need each sweep's levels.
    expand_corruption_sets(config)
    # Before validate(), which crashes on some malformed levels instead of naming the key.
    check_level_specs(config)
    validate(config, schema="../workflow/schemas/config.schema.yaml")
    STUDY = Study(config)
except ConfigError as error:
    raise WorkflowError(f"Invalid config: {error}") from None

RESULTS = "results"
RUN_START_FILE = f"{RESULTS}/.run_started"


wildcard_constraints:
    dataset=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    model=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    method=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    perturbation=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    level=r"-?[0-9][0-9.]*",
    shard=r"[0-9]+",
    index=r"[0-9]+",


# -- resources --------------------------------------------------------------------------
def uses_gpu():
    # study.gpu_jobs overrides the guess: a login node that submits to GPU nodes has none.
    if config["study"].get("gpu_jobs") is not None:
        return config["study"]["gpu_jobs"]
    device = config["study"]["device"]
    if device.startswith("cuda"):
        return True
    if device == "auto":
        # Cheap probe at parse time: importing torch here would slow every cluster job.
        import shutil

        return shutil.which("nvidia-smi") is not None
    return False


GPU = 1 if uses_gpu() else 0
GPU_RESOURCES = config["study"]["gpu_resources"]


def model_mem_mb(wildcards, attempt):
    return GPU_RESOURCES["mem_mb"] * attempt


def model_runtime(wildcards, attempt):
    return GPU_RESOURCES["runtime"] * attempt


def identity_levels():
    """Per sweep, the level that leaves an image unchanged: where figures draw the clean point."""
    from salsweep.perturbations import identity_level_of

    levels = {}
    for name in config["perturbations"]:
        spec = STUDY.perturbation_spec(name)
        level = identity_level_of(spec["kind"], spec["params"])
        levels[name] = float(level) if level is not None else 0.0
    return levels


IDENTITY_LEVELS = identity_levels()


def level_axes():
    """Per sweep, what figures need besides its identity level: the x-axis label (level name
    and unit) and whether the identity level reproduces the clean image exactly."""
    from salsweep.perturbations import PERTURBATIONS

    axes = {}
    for name in config["perturbations"]:
        spec = STUDY.perturbation_spec(name)
        kind = PERTURBATIONS.get(spec["kind"])
        axes[name] = {
            "label": kind.level_label_for(spec["params"]),
            "exact_identity": kind.exact_identity_for(spec["params"]),
        }
    return axes


LEVEL_AXES = level_axes()


# -- params (only what each job depends on, so an edit reruns only its dependents) ----
def dataset_spec(wildcards):
    return STUDY.dataset_spec(wildcards.dataset)


def train_split_spec(wildcards):
    return STUDY.dataset_spec(wildcards.dataset, split="train")


def dataset_files(wildcards):
    """The dataset's local files (data_dir, data_files): an edit reruns its rules."""
    from salsweep.datasets import local_inputs

    return local_inputs(STUDY.dataset_spec(wildcards.dataset))


def n_shards(wildcards):
    return STUDY.n_shards(wildcards.dataset)


def perturbation_spec(wildcards):
    return STUDY.perturbation_spec(wildcards.perturbation)


def model_spec(wildcards):
    return STUDY.model_spec(wildcards.model)


def method_params(wildcards):
    return STUDY.method_params(wildcards.method, wildcards.model)


def drift_reference(wildcards):
    return wildcards.perturbation != CLEAN


# -- result paths: each pattern written once, for the rules' output: and the input functions.
# A pattern keeps Snakemake's {wildcards}; fill() sets some or all of them.
SPLIT_TABLE = f"{RESULTS}/datasets/{{dataset}}/{{split}}.parquet"
SPLIT_REJECTS = f"{RESULTS}/datasets/{{dataset}}/{{split}}_rejects.parquet"
CLASSES = f"{RESULTS}/datasets/{{dataset}}/classes.json"
CONDITION = "{perturbation}/{level}/shard-{shard}"
PERTURBED = f"{RESULTS}/perturbed/{{dataset}}/{CONDITION}.parquet"
WEIGHTS = f"{RESULTS}/models/{{model}}/model.safetensors"
TRAIN_METRICS = f"{RESULTS}/models/{{model}}/train_metrics.json"
MASKER = f"{RESULTS}/maskers/{{dataset}}/{{model}}/masker.safetensors"
MASKER_METRICS = f"{RESULTS}/maskers/{{dataset}}/{{model}}/metrics.json"
# Folders of the model jobs, one per sweep and shard, with a file per level in them
# (salsweep.io.level_table and level_tensors): one job loads its model once per sweep.
SWEEP = "{perturbation}/shard-{shard}"
PREDICTIONS = f"{RESULTS}/predictions/{{dataset}}/{{model}}/{SWEEP}"
PROBS = f"{RESULTS}/probs/{{dataset}}/{{model}}/{SWEEP}"
MAPS = f"{RESULTS}/saliency/{{dataset}}/{{model}}/{{method}}/{SWEEP}"
# One table per sweep and shard: the rows of every level (the job scores the whole sweep).
MAP_METRICS = f"{RESULTS}/metrics/{{dataset}}/{{model}}/{{method}}/{SWEEP}.parquet"
MODEL_METRICS = (
    f"{RESULTS}/model_metrics/{{dataset}}/{{model}}/{{method}}/{SWEEP}.parquet"
)
EXAMPLES = f"{RESULTS}/examples/{{dataset}}/{{model}}/{{method}}.parquet"
PREDICTIONS_TABLE = f"{RESULTS}/tables/predictions.parquet"
METRICS_TABLE = f"{RESULTS}/tables/metrics.parquet"
SUMMARY_TABLE = f"{RESULTS}/tables/summary.csv"
REJECTS_TABLE = f"{RESULTS}/tables/rejects.parquet"
EXAMPLES_TABLE = f"{RESULTS}/tables/examples.parquet"
ACCURACY_FIGURE = f"{RESULTS}/figures/accuracy.{{ext}}"
DRIFT_FIGURE = f"{RESULTS}/figures/drift_heatmap.{{ext}}"
METRICS_FIGURE = (
    f"{RESULTS}/figures/metrics_{{dataset}}_{{model}}_{{perturbation}}.{{ext}}"
)
GRID_FIGURE = (
    f"{RESULTS}/figures/grids/{{dataset}}_{{model}}_{{method}}_{{index}}.{{ext}}"
)
METHOD_GRID_FIGURE = (
    f"{RESULTS}/figures/methods/{{dataset}}_{{model}}_{{index}}.{{ext}}"
)
CLASS_GRID_FIGURE = (
    f"{RESULTS}/figures/classes/{{dataset}}_{{model}}_{{method}}_{{index}}.{{ext}}"
)
MANIFEST = f"{RESULTS}/manifest.json"


class _KeepWildcards(dict):
    def __missing__(self, name):
        return f"{{{name}}}"


def fill(pattern, **values):
    """``pattern`` with ``values`` filled in; wildcards not given stay for Snakemake."""
    return pattern.format_map(_KeepWildcards(values))


# -- input functions --------------------------------------------------------------------
def train_inputs(wildcards):
    dataset = STUDY.train_dataset(wildcards.model)
    return {
        "train": fill(SPLIT_TABLE, dataset=dataset, split="train"),
        "test": fill(SPLIT_TABLE, dataset=dataset, split="eval"),
        "classes": fill(CLASSES, dataset=dataset),
    }


def model_inputs(wildcards):
    inputs = {"classes": fill(CLASSES, **wildcards)}
    if config["models"][wildcards.model]["source"] == "train":
        inputs["weights"] = fill(WEIGHTS, **wildcards)
    return inputs


def sweep_level_texts(wildcards):
    """The levels one classify or saliency job covers: its sweep's."""
    return STUDY.sweep_levels(wildcards.perturbation)


def classify_inputs(wildcards):
    inputs = model_inputs(wildcards)
    inputs["images"] = [
        fill(PERTURBED, **wildcards, level=level)
        for level in sweep_level_texts(wildcards)
    ]
    return inputs


def saliency_inputs(wildcards):
    inputs = classify_inputs(wildcards)
    inputs["predictions"] = fill(PREDICTIONS, **wildcards)
    if wildcards.method == REALTIME_MASK:
        inputs["masker"] = fill(MASKER, **wildcards)
    return inputs


# -- realtime_mask: its masking model is trained once per (dataset, model) ----------------
REALTIME_MASK = "realtime_mask"


def masker_params(wildcards):
    return STUDY.method_params(REALTIME_MASK, wildcards.model)


def masker_split(wildcards):
    """The split ("train" or "eval") that trains the masker (salsweep.masker.plan)."""
    from salsweep.masker.plan import training_split

    choice = masker_params(wildcards).get("train_split", "auto")
    try:
        return training_split(config["datasets"][wildcards.dataset], choice)
    except ValueError as error:
        raise WorkflowError(
            f"Invalid config: saliency.methods.{REALTIME_MASK}: {error}"
        ) from None


def masker_inputs(wildcards):
    inputs = model_inputs(wildcards)
    inputs["images"] = fill(SPLIT_TABLE, **wildcards, split=masker_split(wildcards))
    return inputs


def metric_inputs(wildcards):
    inputs = {
        "maps": fill(MAPS, **wildcards),
        "images": [
            fill(PERTURBED, **wildcards, level=level)
            for level in sweep_level_texts(wildcards)
        ],
    }
    if wildcards.perturbation != CLEAN:
        clean = dict(wildcards.items(), perturbation=CLEAN, level=CLEAN_LEVEL)
        inputs["reference"] = fill(MAPS, **clean)
        inputs.update(stability_inputs(wildcards, clean))
    return inputs


# -- stability metrics (ris, ros, lipschitz): the clean images and both softmax files ------
def metric_requirements():
    """What the study's map metrics need besides maps (salsweep.metrics.base.MapMetric)."""
    from salsweep.metrics import METRIC_INFO

    return {r for s in STUDY.metric_specs() for r in METRIC_INFO[s["name"]]["requires"]}


METRIC_REQUIREMENTS = metric_requirements()


def stability_inputs(wildcards, clean):
    """Only when a listed metric needs them, so other studies' DAGs do not change."""
    inputs = {}
    if "images" in METRIC_REQUIREMENTS:
        inputs["clean_images"] = fill(PERTURBED, **clean)
    if "probs" in METRIC_REQUIREMENTS:
        inputs["probs"] = fill(PROBS, **wildcards)
        inputs["clean_probs"] = fill(PROBS, **clean)
    return inputs


def model_metric_inputs(wildcards):
    inputs = classify_inputs(wildcards)  # the model and every level's images
    inputs["maps"] = fill(MAPS, **wildcards)
    return inputs


def condition_files(pattern, pairs, methods=(None,)):
    """``pattern`` for every (dataset, model) in ``pairs``, method, condition and shard.

    A sweep folder pattern (PREDICTIONS, PROBS, MAPS) repeats once per level: a job finds
    the level's file in it with salsweep.io.level_table or level_tensors."""
    return [
        fill(
            pattern,
            dataset=dataset,
            model=model,
            method=method,
            perturbation=c.perturbation,
            level=c.level,
            shard=shard,
        )
        for dataset, model in pairs
        for method in methods
        for c in STUDY.conditions(dataset)
        for shard in STUDY.shards(dataset)
    ]


def sweep_files(pattern, pairs, methods=(None,)):
    """``pattern`` for every (dataset, model) in ``pairs``, method, sweep (the clean
    reference first) and shard: one entry per job of a rule that covers a whole sweep.
    """
    return [
        fill(
            pattern,
            dataset=dataset,
            model=model,
            method=method,
            perturbation=sweep,
            shard=shard,
        )
        for dataset, model in pairs
        for method in methods
        for sweep in [CLEAN, *config["perturbations"]]
        for shard in STUDY.shards(dataset)
    ]


def all_prediction_files():
    return condition_files(PREDICTIONS, STUDY.pairs())


def all_prediction_levels():
    """The level of each entry of all_prediction_files(), in its order."""
    return condition_files("{level}", STUDY.pairs())


def all_metric_files():
    """Map-metric shards; none (no jobs) when the study lists only model metrics."""
    if not STUDY.metric_specs():
        return []
    return sweep_files(MAP_METRICS, STUDY.pairs(), STUDY.methods)


def all_model_metric_files():
    """Model-metric shards; none (no jobs) unless the study lists a model metric."""
    if not STUDY.model_metric_specs():
        return []
    return sweep_files(MODEL_METRICS, STUDY.pairs(), STUDY.methods)


def all_rejects_files():
    return [fill(SPLIT_REJECTS, dataset=d, split="eval") for d in STUDY.datasets]


def example_map_files(wildcards):
    pair = [(wildcards.dataset, wildcards.model)]
    return condition_files(MAPS, pair, [wildcards.method])


def example_image_files(wildcards):
    return condition_files(PERTURBED, [(wildcards.dataset, None)])


def example_conditions(wildcards):
    """The condition of each entry of example_map_files and example_image_files."""
    return [
        {"dataset": c.dataset, "perturbation": c.perturbation, "level": c.level}
        for c in STUDY.conditions(wildcards.dataset)
        for shard in STUDY.shards(wildcards.dataset)
    ]


def example_tables():
    return [
        fill(EXAMPLES, dataset=dataset, model=model, method=method)
        for dataset, model in STUDY.pairs()
        for method in STUDY.methods
    ]


# -- figures: the keys each figure job draws, and its files in the same order -------------
def grid_keys():
    return [
        (dataset, model, method, index)
        for dataset, model in STUDY.pairs()
        for method in STUDY.methods
        for index in range(config["figures"]["examples"])
    ]


def grid_figures(ext):
    return [
        fill(GRID_FIGURE, dataset=d, model=m, method=method, index=i, ext=ext)
        for d, m, method, i in grid_keys()
    ]


def metric_panels():
    return [
        (dataset, model, perturbation)
        for dataset, model in STUDY.pairs()
        for perturbation in config["perturbations"]
    ]


def metric_figures(ext):
    return [
        fill(METRICS_FIGURE, dataset=d, model=m, perturbation=p, ext=ext)
        for d, m, p in metric_panels()
    ]


def method_grid_keys():
    return [
        (dataset, model, index)
        for dataset, model in STUDY.pairs()
        for index in range(config["figures"]["examples"])
    ]


def method_grid_figures(ext):
    return [
        fill(METHOD_GRID_FIGURE, dataset=d, model=m, index=i, ext=ext)
        for d, m, i in method_grid_keys()
    ]


def class_grid_keys():
    """Per-class grids exist only when the study maps every class (saliency.targets: all)."""
    if "all" not in config["saliency"]["targets"]:
        return []
    return grid_keys()


def class_grid_figures(ext):
    return [
        fill(CLASS_GRID_FIGURE, dataset=d, model=m, method=method, index=i, ext=ext)
        for d, m, method, i in class_grid_keys()
    ]


def figure_targets():
    targets = []
    for ext in ("png", "pdf"):
        targets.extend(class_grid_figures(ext))
        targets.append(fill(ACCURACY_FIGURE, ext=ext))
        targets.append(fill(DRIFT_FIGURE, ext=ext))
        targets.extend(method_grid_figures(ext))
        targets.extend(metric_figures(ext))
        targets.extend(grid_figures(ext))
        targets.extend(drift_vs_change_figures(ext))
        targets.extend(sanity_figures(ext))
    return targets + failure_figure_targets()


def table_targets():
    return (
        [
            PREDICTIONS_TABLE,
            METRICS_TABLE,
            SUMMARY_TABLE,
            REJECTS_TABLE,
            EXAMPLES_TABLE,
            CHANGES_TABLE,
            FLOORS_TABLE,
        ]
        + scale_table_targets()
        + failure_table_targets()
    )


# -- issue 12: input/output change of each copy (rule changes), noise floors (rule floors)
CHANGES = f"{RESULTS}/changes/{{dataset}}/{{model}}/shard-{{shard}}.parquet"
CHANGES_TABLE = f"{RESULTS}/tables/changes.parquet"
FLOOR_MAPS = f"{RESULTS}/floors/{{dataset}}/{{model}}/{{method}}/{{floor}}/shard-{{shard}}.safetensors"
FLOOR_METRICS = (
    f"{RESULTS}/floor_metrics/{{dataset}}/{{model}}/{{method}}/shard-{{shard}}.parquet"
)
FLOORS_TABLE = f"{RESULTS}/tables/floors.parquet"
# Config order does not matter: a job computes its floors in salsweep.io.FLOOR_NAMES order.
FLOORS = list(config["floors"])


def perturbed_conditions(dataset):
    return STUDY.conditions(dataset, include_clean=False)


def change_inputs(wildcards):
    clean = dict(wildcards.items(), perturbation=CLEAN, level=CLEAN_LEVEL)
    copies = perturbed_conditions(wildcards.dataset)
    return {
        "clean_images": fill(PERTURBED, **clean),
        "clean_probs": fill(PROBS, **clean),
        "images": [
            fill(PERTURBED, **wildcards, perturbation=c.perturbation, level=c.level)
            for c in copies
        ],
        "probs": [
            fill(PROBS, **wildcards, perturbation=c.perturbation, level=c.level)
            for c in copies
        ],
    }


def change_conditions(wildcards):
    """(perturbation, level) of each entry of change_inputs' images and probs."""
    return [[c.perturbation, c.level] for c in perturbed_conditions(wildcards.dataset)]


def all_change_files():
    return [
        fill(CHANGES, dataset=dataset, model=model, shard=shard)
        for dataset, model in STUDY.pairs()
        for shard in STUDY.shards(dataset)
    ]


def floor_inputs(wildcards):
    clean = dict(wildcards.items(), perturbation=CLEAN, level=CLEAN_LEVEL)
    inputs = model_inputs(wildcards)
    inputs["images"] = fill(PERTURBED, **clean)
    inputs["reference"] = fill(MAPS, **clean)
    if wildcards.method == REALTIME_MASK:
        inputs["masker"] = fill(MASKER, **wildcards)
    return inputs


def floor_drift_specs():
    from salsweep.metrics import drift_metric_specs

    return drift_metric_specs(STUDY.metric_specs())


def all_floor_files():
    """Floors shards; none (no jobs) when floors is [] or the study has no drift metric."""
    if not FLOORS or not floor_drift_specs():
        return []
    return [
        fill(FLOOR_METRICS, dataset=dataset, model=model, method=method, shard=shard)
        for dataset, model in STUDY.pairs()
        for method in STUDY.methods
        for shard in STUDY.shards(dataset)
    ]


def all_targets():
    return table_targets() + figure_targets() + [MANIFEST]


# -- the report's "Scale" (issue 12): drift against change, sanity check, truth vs pred ------
# CHANGES_TABLE and FLOOR_MAPS: the changes and floors rules' outputs (above).
SANITY_EXAMPLES = f"{RESULTS}/sanity_examples/{{dataset}}/{{model}}.parquet"
SANITY_TABLE = f"{RESULTS}/tables/sanity.csv"
TRUTH_VS_PRED_TABLE = f"{RESULTS}/tables/truth_vs_pred.csv"
DRIFT_VS_CHANGE_FIGURE = (
    f"{RESULTS}/figures/drift_vs_change_{{dataset}}_{{model}}.{{ext}}"
)
SANITY_FIGURE = f"{RESULTS}/figures/sanity_{{dataset}}_{{model}}.{{ext}}"
TRUTH_VS_PRED_METRICS = ("truth_pred_ssd", "truth_pred_xcorr")


def drift_vs_change_figures(ext):
    return [
        fill(DRIFT_VS_CHANGE_FIGURE, dataset=d, model=m, ext=ext)
        for d, m in STUDY.pairs()
    ]


def computes_floors():
    """Whether the study computes floor maps: floors listed, and a drift metric to score
    them (exactly when all_floor_files() is not empty)."""
    return bool(FLOORS) and bool(floor_drift_specs())


def sanity_pairs():
    """Pairs with a sanity figure: all of them, unless the study computes no floors."""
    return STUDY.pairs() if computes_floors() else []


def sanity_figures(ext):
    return [fill(SANITY_FIGURE, dataset=d, model=m, ext=ext) for d, m in sanity_pairs()]


def sanity_example_tables():
    return [fill(SANITY_EXAMPLES, dataset=d, model=m) for d, m in sanity_pairs()]


def sanity_example_inputs(wildcards):
    """Shard 0's clean maps (one per method), its floor maps (per method, per floor) and
    its clean images: the example image is that shard's first."""
    where = dict(wildcards.items(), perturbation=CLEAN, level=CLEAN_LEVEL, shard="0")
    return {
        "clean_maps": [fill(MAPS, **where, method=method) for method in STUDY.methods],
        "floor_maps": [
            fill(FLOOR_MAPS, **where, method=method, floor=floor)
            for method in STUDY.methods
            for floor in FLOORS
        ],
        "images": fill(PERTURBED, **where),
    }


def lists_truth_vs_pred():
    return any(s["name"] in TRUTH_VS_PRED_METRICS for s in STUDY.metric_specs())


def scale_table_targets():
    """sanity.csv where the study computes floors; truth_vs_pred.csv where it lists a
    truth-vs-pred metric."""
    return ([SANITY_TABLE] if computes_floors() else []) + (
        [TRUTH_VS_PRED_TABLE] if lists_truth_vs_pred() else []
    )


def record_run_start():
    """Called from onstart: the time this invocation started, for the manifest."""
    import datetime

    os.makedirs(RESULTS, exist_ok=True)
    with open(RUN_START_FILE, "w") as handle:
        handle.write(
            datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        )


# -- failure analysis (issue 13): flip levels, drift as a failure predictor, findings ------
# Contract C2: rule changes (issue 12) writes it; keep one definition when merging.
CHANGES_TABLE = f"{RESULTS}/tables/changes.parquet"
FLIP_LEVELS_TABLE = f"{RESULTS}/tables/flip_levels.parquet"
FAILURE_TABLE = f"{RESULTS}/tables/failure.parquet"
FLIP_EXAMPLES = f"{RESULTS}/flip_examples/{{dataset}}/{{model}}.parquet"
FLIP_EXAMPLES_TABLE = f"{RESULTS}/tables/flip_examples.parquet"
FINDINGS_TABLE = f"{RESULTS}/tables/findings.csv"
FINDINGS_PAGE = f"{RESULTS}/report/findings.html"
FAILURE_FIGURE = f"{RESULTS}/figures/failure_{{dataset}}_{{model}}.{{ext}}"
FLIPS_FIGURE = f"{RESULTS}/figures/flips_{{dataset}}_{{model}}.{{ext}}"


def drift_metrics():
    """{label: higher_is_better} of the study's drift metrics (salsweep.failure)."""
    from salsweep.failure import drift_metrics as of_specs

    return of_specs(STUDY.metric_specs())


def sweep_levels():
    """Per sweep, its levels as the tables' float ``level`` column holds them."""
    return {
        name: [float(level) for level in STUDY.levels(name)]
        for name in config["perturbations"]
    }


def flip_example_maps(wildcards):
    pair = [(wildcards.dataset, wildcards.model)]
    return condition_files(MAPS, pair, STUDY.methods)


def flip_example_map_keys(wildcards):
    """The condition and method of each entry of flip_example_maps, in its order."""
    return [
        {
            "method": method,
            "condition": {
                "dataset": c.dataset,
                "perturbation": c.perturbation,
                "level": c.level,
            },
        }
        for method in STUDY.methods
        for c in STUDY.conditions(wildcards.dataset)
        for shard in STUDY.shards(wildcards.dataset)
    ]


def failure_pairs():
    return [list(pair) for pair in STUDY.pairs()]


def failure_figures(ext):
    return [fill(FAILURE_FIGURE, dataset=d, model=m, ext=ext) for d, m in STUDY.pairs()]


def flips_figures(ext):
    return [fill(FLIPS_FIGURE, dataset=d, model=m, ext=ext) for d, m in STUDY.pairs()]


def flip_example_tables():
    return [fill(FLIP_EXAMPLES, dataset=d, model=m) for d, m in STUDY.pairs()]


def failure_table_targets():
    return [FLIP_LEVELS_TABLE, FAILURE_TABLE, FLIP_EXAMPLES_TABLE]


def failure_figure_targets():
    """Drawn from the tables alone, so the figures target rebuilds them."""
    targets = [FINDINGS_PAGE, FINDINGS_TABLE]
    for ext in ("png", "pdf"):
        targets.extend(failure_figures(ext))
        targets.extend(flips_figures(ext))
    return targets
