"""The study config as the DAG sees it: checks that the JSON schema cannot express, and
the lists of datasets, models, sweeps, shards and methods that the rules expand.

Everything here is light (no torch): it runs when Snakemake parses the workflow, before
any job, so that a bad config fails at once with the key named.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from salsweep.condition import CLEAN, CLEAN_LEVEL, Condition, format_level

# Model keys that shape the DAG rather than the classifier.
PIPELINE_MODEL_KEYS = ("datasets", "train", "gradcam_layer")


class ConfigError(ValueError):
    """A config problem; the message starts with the key path."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config key '{key}': {message}")
        self.key = key


def _metric_entries(config: dict) -> list[dict]:
    entries = []
    for index, item in enumerate(config.get("metrics", [])):
        entry = {"name": item} if isinstance(item, str) else dict(item)
        entry["_key"] = f"metrics[{index}]"
        entries.append(entry)
    return entries


class Study:
    """A validated study config with the expansions the rules need."""

    def __init__(self, config: dict) -> None:
        apply_stand_ins(config)
        expand_corruption_sets(config)
        self.config = config
        self.seed: int = config["study"]["seed"]
        self._levels: dict[str, list[str]] = {}
        self.check()

    # -- checks -------------------------------------------------------------------------
    def check(self) -> None:
        config = self.config
        datasets = config["datasets"]
        for name, spec in datasets.items():
            self._check_dataset(name, spec)
        for name, spec in config["models"].items():
            self._check_model(name, spec, datasets)
        for name, spec in config["perturbations"].items():
            kind = spec.get("kind", name)
            try:
                from salsweep.perturbations import validate_perturbation

                levels = validate_perturbation(kind, spec["levels"], spec.get("params", {}))
            except (KeyError, ValueError) as error:
                raise ConfigError(f"perturbations.{name}", _message(error)) from None
            texts = [format_level(level) for level in levels]
            if len(set(texts)) != len(texts):
                raise ConfigError(f"perturbations.{name}.levels", f"duplicate levels {texts}")
            self._levels[name] = texts
        for method, params in config["saliency"]["methods"].items():
            try:
                from salsweep.saliency.params import check_method_params

                check_method_params(method, params or {})
            except (KeyError, ValueError) as error:
                raise ConfigError(f"saliency.methods.{method}", _message(error)) from None
        model_labels: set[str] = set()
        for entry in _metric_entries(config):
            params = {k: v for k, v in entry.items() if k not in ("name", "_key")}
            try:
                from salsweep.faithfulness.params import MODEL_METRIC_PARAMS, model_metric_label
                from salsweep.metrics.params import METRIC_PARAMS, check_metric

                if entry["name"] in MODEL_METRIC_PARAMS:
                    label = model_metric_label(entry["name"], params)
                    if label in model_labels:
                        raise ValueError(f"metric {label!r} is listed twice")
                    model_labels.add(label)
                elif entry["name"] in METRIC_PARAMS:
                    check_metric(entry["name"], params)
                else:
                    allowed = ", ".join(sorted([*METRIC_PARAMS, *MODEL_METRIC_PARAMS]))
                    raise ValueError(f"unknown metric {entry['name']!r}; allowed: {allowed}")
            except (KeyError, ValueError) as error:
                raise ConfigError(entry["_key"], _message(error)) from None

        self._check_frames()

    def _check_frames(self) -> None:
        """A metric that compares a copy with its clean image pixel by pixel (drift and
        stability: "reference"; mask metrics: "mask") needs the copy in a known frame."""
        from salsweep.metrics import METRIC_INFO
        from salsweep.perturbations import PERTURBATIONS

        compared = sorted(
            {
                entry["name"]
                for entry in _metric_entries(self.config)
                if entry["name"] in METRIC_INFO
                and {"reference", "mask"} & set(METRIC_INFO[entry["name"]]["requires"])
            }
        )
        if not compared:
            return
        for name, spec in self.config["perturbations"].items():
            kind = spec.get("kind", name)
            reason = PERTURBATIONS.get(kind).unknown_frame_reason(spec.get("params", {}))
            if reason is not None:
                raise ConfigError(
                    f"perturbations.{name}",
                    f"sweep {name!r} cannot be scored by {', '.join(compared)}: {reason}, so "
                    "its maps cannot be brought back into the clean image's frame. Drop the "
                    "sweep or those metrics, or use the built-in rotation/translation/scale "
                    "kinds, whose transform is known",
                )

    def _check_dataset(self, name: str, spec: dict) -> None:
        from salsweep.datasets import check_source_params

        try:
            check_source_params(self.dataset_spec(name))
        except (KeyError, ValueError) as error:
            raise ConfigError(f"datasets.{name}", _message(error)) from None

    def _check_model(self, name: str, spec: dict, datasets: dict) -> None:
        for index, dataset in enumerate(spec["datasets"]):
            if dataset not in datasets:
                raise ConfigError(
                    f"models.{name}.datasets[{index}]",
                    f"unknown dataset {dataset!r}; defined datasets: {sorted(datasets)}",
                )
        source = spec["source"]
        try:
            from salsweep.models.params import check_model_params

            check_model_params(self.model_spec(name))
        except (KeyError, ValueError) as error:
            raise ConfigError(f"models.{name}", _message(error)) from None
        if source == "hf":
            check_model_folder(f"models.{name}.path", spec["path"], spec.get("revision"))
        if source == "train":
            train_dataset = self.train_dataset(name)
            if train_dataset not in datasets:
                raise ConfigError(
                    f"models.{name}.train.dataset",
                    f"unknown dataset {train_dataset!r}; defined datasets: {sorted(datasets)}",
                )
            if datasets[train_dataset]["source"] == "bundled_photos":
                raise ConfigError(
                    f"models.{name}.train.dataset",
                    "bundled_photos has no train split; use sklearn_digits or an hf dataset",
                )
            if datasets[train_dataset]["source"] == "hf":
                from salsweep.datasets.hf import train_split_of

                if train_split_of(datasets[train_dataset]) is None:
                    raise ConfigError(
                        f"models.{name}.train.dataset",
                        f"dataset {train_dataset!r} has no train split (train_split is null, "
                        "or split is train); set its train_split",
                    )
        elif spec.get("train"):
            raise ConfigError(f"models.{name}.train", "only models of source 'train' are trained")

    # -- expansions ---------------------------------------------------------------------
    @property
    def datasets(self) -> list[str]:
        return list(self.config["datasets"])

    @property
    def models(self) -> list[str]:
        return list(self.config["models"])

    @property
    def methods(self) -> list[str]:
        return list(self.config["saliency"]["methods"])

    @property
    def trained_models(self) -> list[str]:
        return [m for m, spec in self.config["models"].items() if spec["source"] == "train"]

    def train_dataset(self, model: str) -> str:
        spec = self.config["models"][model]
        return (spec.get("train") or {}).get("dataset", spec["datasets"][0])

    def pairs(self) -> list[tuple[str, str]]:
        """(dataset, model) pairs, in config order."""
        return [(d, m) for m, spec in self.config["models"].items() for d in spec["datasets"]]

    def levels(self, perturbation: str) -> list[str]:
        return self._levels[perturbation]

    def sweep_levels(self, perturbation: str) -> list[str]:
        """The level texts of one sweep, the clean reference's one level included: what one
        classify or saliency job covers."""
        return [CLEAN_LEVEL] if perturbation == CLEAN else self.levels(perturbation)

    def conditions(self, dataset: str, include_clean: bool = True) -> list[Condition]:
        """The clean reference, then every sweep's levels, in config order."""
        out = [Condition(dataset, CLEAN, CLEAN_LEVEL)] if include_clean else []
        for name in self.config["perturbations"]:
            out.extend(Condition(dataset, name, level) for level in self._levels[name])
        return out

    def n_shards(self, dataset: str) -> int:
        spec = self.config["datasets"][dataset]
        return int(spec.get("shards") or self.config["study"]["shards"])

    def shards(self, dataset: str) -> list[str]:
        return [str(i) for i in range(self.n_shards(dataset))]

    def perturbation_spec(self, perturbation: str) -> dict[str, Any]:
        """Kind and fixed params of one sweep (the clean reference has kind None)."""
        if perturbation == CLEAN:
            return {"kind": None, "params": {}}
        spec = self.config["perturbations"][perturbation]
        return {"kind": spec.get("kind", perturbation), "params": dict(spec.get("params", {}))}

    def dataset_spec(self, dataset: str, split: str = "eval") -> dict[str, Any]:
        """The source params of one split: ``subset`` draws evaluated images, and
        ``train_subset`` the images a model of source train learns from."""
        spec = {
            k: v
            for k, v in self.config["datasets"][dataset].items()
            if k not in ("shards", "subset", "train_subset")
        }
        key = "subset" if split == "eval" else "train_subset"
        spec["subset"] = self.config["datasets"][dataset].get(key)
        return spec

    def model_spec(self, model: str) -> dict[str, Any]:
        """What loads the classifier: the source and its params, without the DAG's keys."""
        spec = self.config["models"][model]
        return {k: copy.deepcopy(v) for k, v in spec.items() if k not in PIPELINE_MODEL_KEYS}

    def method_params(self, method: str, model: str | None = None) -> dict[str, Any]:
        params = dict(self.config["saliency"]["methods"][method] or {})
        # A model's Grad-CAM layer applies unless the method names one itself.
        layer = self.config["models"][model].get("gradcam_layer") if model else None
        if method == "gradcam" and layer and "layer" not in params:
            params["layer"] = layer
        return params

    def metric_specs(self) -> list[dict[str, Any]]:
        """Map-metric specs (salsweep.metrics), for rule map_metrics."""
        return [s for s in self._all_metric_specs() if not _is_model_metric(s["name"])]

    def model_metric_specs(self) -> list[dict[str, Any]]:
        """Model-metric specs (salsweep.faithfulness), for rule model_metrics; empty = no jobs."""
        return [s for s in self._all_metric_specs() if _is_model_metric(s["name"])]

    def _all_metric_specs(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "_key"} for e in _metric_entries(self.config)]

    def config_hash(self) -> str:
        text = json.dumps(self.config, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _is_model_metric(name: str) -> bool:
    from salsweep.faithfulness.params import MODEL_METRIC_PARAMS

    return name in MODEL_METRIC_PARAMS


# A hub id as the hub spells it: "org/name" or a bare "name".
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?")


def check_model_folder(key: str, path: str, revision: str | None = None) -> None:
    """Fail at parse time if an hf model ``path`` means a local folder that is not there.

    A path that can only be local (absolute, ``./x``, ``a/b/c``, or ``a/b`` where folder
    ``a`` exists) must be a folder holding config.json, unless the local hub cache has it
    as a hub id. Other hub ids are left to the job, which may download them.
    """
    folder = Path(path)
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ConfigError(
                key,
                f"folder {path!r} has no config.json; a model folder is written by save_pretrained",
            )
        return
    if folder.exists():
        raise ConfigError(key, f"{path!r} is a file; give the folder written by save_pretrained")
    if _HUB_ID.fullmatch(path):
        looks_local = "/" in path and Path(path.split("/")[0]).is_dir()
        if not looks_local or _in_hub_cache(path, revision):
            return
    raise ConfigError(
        key,
        f"no model folder {path!r} (relative paths start at {os.getcwd()}) and no hub id "
        "of that name in the local hub cache",
    )


def _in_hub_cache(repo_id: str, revision: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json", revision=revision or "main")
    return isinstance(found, str)


CORRUPTION_SET_KEYS = ("kind", "corruptions", "levels", "prefix")
DEFAULT_SEVERITIES = [1, 2, 3, 4, 5]


def expand_corruption_sets(config: dict) -> None:
    """Replace each ``perturbations`` entry with ``corruptions`` by one imagenet_c sweep per
    corruption, in place (before the schema's per-sweep checks, which need ``levels``).

    ``corruptions`` is ``benchmark`` (the 15 ImageNet-C corruptions), ``extra`` (the 4
    validation ones), ``all`` or a list of names; ``levels`` defaults to [1, 2, 3, 4, 5];
    each sweep is named ``prefix`` + the corruption (prefix "" by default). An expanded
    config has no ``corruptions`` left, so this may run twice.
    """
    perturbations = config.get("perturbations")
    if not isinstance(perturbations, dict):
        return  # the schema reports it
    for name, spec in perturbations.items():
        if isinstance(spec, dict) and "prefix" in spec and "corruptions" not in spec:
            raise ConfigError(
                f"perturbations.{name}.prefix", "only an entry with corruptions takes a prefix"
            )
    if not any(isinstance(spec, dict) and "corruptions" in spec for spec in perturbations.values()):
        return
    from salsweep.perturbations.imagenet_c import BENCHMARK_CORRUPTIONS, EXTRA_CORRUPTIONS

    sets = {
        "benchmark": BENCHMARK_CORRUPTIONS,
        "extra": EXTRA_CORRUPTIONS,
        "all": BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS,
    }
    expanded: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, spec in perturbations.items():
        key = f"perturbations.{name}"
        if not (isinstance(spec, dict) and "corruptions" in spec):
            sweeps = {name: spec}
        else:
            sweeps = _corruption_sweeps(key, name, spec, sets)
        for sweep, sweep_spec in sweeps.items():
            if sweep in expanded:
                raise ConfigError(
                    key,
                    f"sweep {sweep!r} is also defined by {origin[sweep]}; rename one (a "
                    "corruptions entry takes a prefix for its sweep names)",
                )
            expanded[sweep] = sweep_spec
            origin[sweep] = key
    perturbations.clear()
    perturbations.update(expanded)


def _corruption_sweeps(key: str, name: str, spec: dict, sets: dict) -> dict[str, dict]:
    kind = spec.get("kind", name)
    if kind != "imagenet_c":
        raise ConfigError(
            key,
            "corruptions is a shorthand of the imagenet_c kind; set kind: imagenet_c "
            f"(got {kind!r})",
        )
    unknown = sorted(set(spec) - set(CORRUPTION_SET_KEYS))
    if unknown:
        raise ConfigError(
            key,
            f"unknown key(s) {unknown} beside corruptions; "
            f"allowed: {', '.join(CORRUPTION_SET_KEYS)}",
        )
    allowed = sets["all"]
    corruptions = spec["corruptions"]
    if isinstance(corruptions, str) and corruptions in sets:
        names = list(sets[corruptions])
    elif isinstance(corruptions, list) and corruptions:
        names = corruptions
        for index, corruption in enumerate(names):
            if corruption not in allowed:
                raise ConfigError(
                    f"{key}.corruptions[{index}]",
                    f"unknown corruption {corruption!r}; allowed: {', '.join(allowed)}",
                )
    else:
        raise ConfigError(
            f"{key}.corruptions",
            "must be benchmark, extra, all or a non-empty list of corruptions, "
            f"got {corruptions!r}",
        )
    prefix = spec.get("prefix", "")
    if not isinstance(prefix, str):
        raise ConfigError(f"{key}.prefix", f"must be a string, got {prefix!r}")
    levels = spec.get("levels", DEFAULT_SEVERITIES)
    return {
        f"{prefix}{corruption}": {
            "kind": "imagenet_c",
            "levels": copy.deepcopy(levels),
            "params": {"corruption": corruption},
        }
        for corruption in names
    }


def check_level_specs(config: dict) -> None:
    """Check the form of every sweep's ``levels``, naming the key and the allowed forms.

    Runs before Snakemake's validate(), which fills the linspace defaults into whatever
    ``levels`` holds and so crashes on a list or a number instead of naming the key.
    """
    from salsweep.perturbations.sweep import LEVEL_FORMS, level_values

    perturbations = config.get("perturbations")
    if not isinstance(perturbations, dict):
        return  # the schema reports it
    for name, spec in perturbations.items():
        if not isinstance(spec, dict) or "levels" not in spec:
            continue
        try:
            level_values(str(spec.get("kind", name)), spec["levels"])
        except ValueError as error:
            text = str(error)
            if LEVEL_FORMS not in text:
                text += f"; allowed forms: {LEVEL_FORMS}"
            raise ConfigError(f"perturbations.{name}.levels", text) from None


def apply_stand_ins(config: dict) -> None:
    """Replace hub datasets and models by local stand-ins, in place.

    ``stand_ins`` maps a dataset or model ``path`` (a hub id) to the keys that replace it,
    e.g. ``{"cifar10": {"path": "parquet", "data_files": {...}}}``; a plain string replaces
    the path alone. Tests and offline dry runs use it to run a hub study on local files by
    adding one config file. An entry without a path (bundled_photos, sklearn_digits, ...)
    is matched by its source name, so a test can shrink it too (e.g. ``photos``, ``subset``).
    """
    stand_ins = config.get("stand_ins") or {}
    for section in ("datasets", "models"):
        for spec in config.get(section, {}).values():
            key = spec["path"] if "path" in spec else spec.get("source")
            replacement = stand_ins.get(key)
            if replacement is None:
                continue
            if isinstance(replacement, str):
                replacement = {"path": replacement}
            if not isinstance(replacement, dict):
                raise ConfigError(f"stand_ins.{key}", "must be a path or a mapping")
            spec.update(copy.deepcopy(replacement))


def _message(error: Exception) -> str:
    # KeyError wraps its message in quotes.
    return error.args[0] if isinstance(error, KeyError) and error.args else str(error)
