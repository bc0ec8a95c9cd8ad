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

from salsweep.config import CLEAN, CLEAN_LEVEL, ConfigError, Study, check_level_specs

# A study given with --configfile replaces the default study instead of being merged
# into it (Snakemake merges by default, which would add the default datasets to a study).
if workflow.overwrite_configfiles:
    config.clear()
    config.update(copy.deepcopy(workflow.config_settings.overwrite_config))

try:
    # Before validate(), which crashes on some malformed levels instead of naming the key.
    check_level_specs(config)
    validate(config, schema="../workflow/schemas/config.schema.yaml")
    STUDY = Study(config)
except ConfigError as error:
    raise WorkflowError(f"Invalid config: {error}") from None

RESULTS = "results"
RUN_START_FILE = f"{RESULTS}/.run_started"
SCRIPTS = os.path.join(workflow.basedir, "workflow", "scripts")


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


# -- paths ------------------------------------------------------------------------------
def dataset_path(dataset, what="eval.parquet"):
    return f"{RESULTS}/datasets/{dataset}/{what}"


def shard_file(*parts, ext):
    *folders, shard = parts
    return os.path.join(RESULTS, *folders, f"shard-{shard}.{ext}")


def perturbed_path(dataset, perturbation, level, shard):
    return shard_file("perturbed", dataset, perturbation, level, shard, ext="parquet")


def predictions_path(dataset, model, perturbation, level, shard):
    return shard_file(
        "predictions", dataset, model, perturbation, level, shard, ext="parquet"
    )


def maps_path(dataset, model, method, perturbation, level, shard):
    return shard_file(
        "saliency",
        dataset,
        model,
        method,
        perturbation,
        level,
        shard,
        ext="safetensors",
    )


def metrics_path(dataset, model, method, perturbation, level, shard):
    return shard_file(
        "metrics", dataset, model, method, perturbation, level, shard, ext="parquet"
    )


def model_metrics_path(dataset, model, method, perturbation, level, shard):
    return shard_file(
        "model_metrics",
        dataset,
        model,
        method,
        perturbation,
        level,
        shard,
        ext="parquet",
    )


def weights_path(model):
    return f"{RESULTS}/models/{model}/model.safetensors"


# -- input functions --------------------------------------------------------------------
def train_inputs(wildcards):
    dataset = STUDY.train_dataset(wildcards.model)
    return {
        "train": dataset_path(dataset, "train.parquet"),
        "test": dataset_path(dataset, "eval.parquet"),
        "classes": dataset_path(dataset, "classes.json"),
    }


def model_inputs(wildcards):
    inputs = {"classes": dataset_path(wildcards.dataset, "classes.json")}
    if config["models"][wildcards.model]["source"] == "train":
        inputs["weights"] = weights_path(wildcards.model)
    return inputs


def classify_inputs(wildcards):
    w = wildcards
    inputs = model_inputs(w)
    inputs["images"] = perturbed_path(w.dataset, w.perturbation, w.level, w.shard)
    return inputs


def saliency_inputs(wildcards):
    w = wildcards
    inputs = classify_inputs(w)
    inputs["predictions"] = predictions_path(
        w.dataset, w.model, w.perturbation, w.level, w.shard
    )
    if w.method == REALTIME_MASK:
        inputs["masker"] = masker_file(w.dataset, w.model)
    return inputs


# -- realtime_mask: its masking model is trained once per (dataset, model) ----------------
REALTIME_MASK = "realtime_mask"


def masker_file(dataset, model):
    return f"{RESULTS}/maskers/{dataset}/{model}/masker.safetensors"


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
    inputs["images"] = dataset_path(
        wildcards.dataset, f"{masker_split(wildcards)}.parquet"
    )
    return inputs


def metric_inputs(wildcards):
    w = wildcards
    inputs = {
        "maps": maps_path(
            w.dataset, w.model, w.method, w.perturbation, w.level, w.shard
        ),
        "images": perturbed_path(w.dataset, w.perturbation, w.level, w.shard),
    }
    if w.perturbation != CLEAN:
        inputs["reference"] = maps_path(
            w.dataset, w.model, w.method, CLEAN, CLEAN_LEVEL, w.shard
        )
    return inputs


def model_metric_inputs(wildcards):
    w = wildcards
    inputs = classify_inputs(w)
    inputs["maps"] = maps_path(
        w.dataset, w.model, w.method, w.perturbation, w.level, w.shard
    )
    return inputs


def all_prediction_files():
    return [
        predictions_path(dataset, model, c.perturbation, c.level, shard)
        for dataset, model in STUDY.pairs()
        for c in STUDY.conditions(dataset)
        for shard in STUDY.shards(dataset)
    ]


def all_metric_files():
    """Map-metric shards; none (no jobs) when the study lists only model metrics."""
    if not STUDY.metric_specs():
        return []
    return [
        metrics_path(dataset, model, method, c.perturbation, c.level, shard)
        for dataset, model in STUDY.pairs()
        for method in STUDY.methods
        for c in STUDY.conditions(dataset)
        for shard in STUDY.shards(dataset)
    ]


def all_model_metric_files():
    """Model-metric shards; none (no jobs) unless the study lists a model metric."""
    if not STUDY.model_metric_specs():
        return []
    return [
        model_metrics_path(dataset, model, method, c.perturbation, c.level, shard)
        for dataset, model in STUDY.pairs()
        for method in STUDY.methods
        for c in STUDY.conditions(dataset)
        for shard in STUDY.shards(dataset)
    ]


def all_rejects_files():
    return [dataset_path(dataset, "eval_rejects.parquet") for dataset in STUDY.datasets]


def example_map_files(wildcards):
    w = wildcards
    return [
        maps_path(w.dataset, w.model, w.method, c.perturbation, c.level, shard)
        for c in STUDY.conditions(w.dataset)
        for shard in STUDY.shards(w.dataset)
    ]


def example_image_files(wildcards):
    return [
        perturbed_path(wildcards.dataset, c.perturbation, c.level, shard)
        for c in STUDY.conditions(wildcards.dataset)
        for shard in STUDY.shards(wildcards.dataset)
    ]


def example_conditions(wildcards):
    """The condition of each entry of example_map_files and example_image_files."""
    return [
        {"dataset": c.dataset, "perturbation": c.perturbation, "level": c.level}
        for c in STUDY.conditions(wildcards.dataset)
        for shard in STUDY.shards(wildcards.dataset)
    ]


def example_tables():
    return [
        f"{RESULTS}/examples/{dataset}/{model}/{method}.parquet"
        for dataset, model in STUDY.pairs()
        for method in STUDY.methods
    ]


def grid_keys():
    return [
        (dataset, model, method, index)
        for dataset, model in STUDY.pairs()
        for method in STUDY.methods
        for index in range(config["figures"]["examples"])
    ]


def grid_figures(ext):
    return [
        f"{RESULTS}/figures/grids/{dataset}_{model}_{method}_{index}.{ext}"
        for dataset, model, method, index in grid_keys()
    ]


def metric_panels():
    return [
        (dataset, model, perturbation)
        for dataset, model in STUDY.pairs()
        for perturbation in config["perturbations"]
    ]


def metric_figures(ext):
    return [
        f"{RESULTS}/figures/metrics_{dataset}_{model}_{perturbation}.{ext}"
        for dataset, model, perturbation in metric_panels()
    ]


def method_grid_keys():
    return [
        (dataset, model, index)
        for dataset, model in STUDY.pairs()
        for index in range(config["figures"]["examples"])
    ]


def method_grid_figures(ext):
    return [
        f"{RESULTS}/figures/methods/{dataset}_{model}_{index}.{ext}"
        for dataset, model, index in method_grid_keys()
    ]


def class_grid_figures(ext):
    if "all" not in config["saliency"]["targets"]:
        return []
    return [
        f"{RESULTS}/figures/classes/{dataset}_{model}_{method}_{index}.{ext}"
        for dataset, model, method, index in grid_keys()
    ]


def figure_targets():
    targets = []
    for ext in ("png", "pdf"):
        targets.extend(class_grid_figures(ext))
        targets.append(f"{RESULTS}/figures/accuracy.{ext}")
        targets.append(f"{RESULTS}/figures/drift_heatmap.{ext}")
        targets.extend(method_grid_figures(ext))
        targets.extend(metric_figures(ext))
        targets.extend(grid_figures(ext))
    return targets


def table_targets():
    return [
        f"{RESULTS}/tables/{name}"
        for name in (
            "predictions.parquet",
            "metrics.parquet",
            "summary.csv",
            "rejects.parquet",
            "examples.parquet",
        )
    ]


def all_targets():
    return table_targets() + figure_targets() + [f"{RESULTS}/manifest.json"]


def record_run_start():
    """Called from onstart: the time this invocation started, for the manifest."""
    import datetime

    os.makedirs(RESULTS, exist_ok=True)
    with open(RUN_START_FILE, "w") as handle:
        handle.write(
            datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        )
