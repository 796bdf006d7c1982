# Input functions and names shared by the rules; the config is read as STUDY (the Snakefile: newlogic.study_loader).
import hashlib
import json
import os
import re
import sys
from pathlib import Path

from newlogic.report.escape import json_for_html
from newlogic.store.atomic import atomic_write_text

from newlogic.attacks.request import attack_requests
from newlogic.store import paths
from newlogic import figure_catalog
from newlogic.datasets import dataset_info
from newlogic.errors import UserError
from newlogic.report.published import resolve_mapping

RESULTS = paths.results_dir(STUDY.run)
DATASET = STUDY.dataset
ABLATIONS = STUDY.ablations
try:  # ablations with a published counterpart (newlogic.report.published): its mapping must hold on their models
    PUBLISHED = [
        name
        for name, ablation in ABLATIONS.items()
        if resolve_mapping(STUDY.config["ablations"][name], [e.name for e in ablation.models], ablation.settings, name)
    ]
except UserError as error:
    sys.exit(f"config error: {error}")
WILDCARDS = {"results": RESULTS, "dataset": "{dataset}", "model": "{model}", "seed": "{seed}", "setting": "{setting}"}
MODEL_DIR = paths.MODEL_DIR.format(**WILDCARDS)
MODEL_METRICS = f"{MODEL_DIR}/{paths.METRICS_FILE}"
MODEL_WEIGHTS = f"{MODEL_DIR}/{paths.WEIGHTS_FILE}"
RESULT_JSON = paths.RESULT_JSON.format(**WILDCARDS)
RESULT_NPZ = paths.RESULT_NPZ.format(**WILDCARDS)
CHECKS_JSON = paths.CHECKS_JSON.format(**WILDCARDS)
NOISE_JSON = paths.NOISE_JSON.format(**WILDCARDS)
MODEL_FIGURES_DIR = paths.MODEL_FIGURES_DIR.format(**WILDCARDS)
ABLATION_FIGURES_DIR = paths.ABLATION_FIGURES_DIR.format(results=RESULTS, ablation="{ablation}")
DEPTH_FIGURES_DIR = paths.DEPTH_FIGURES_DIR.format(results=RESULTS)
DEPTH_JSON = paths.DEPTH_JSON.format(results=RESULTS)


wildcard_constraints:
    ablation="|".join(re.escape(name) for name in ABLATIONS),  # {ablation}.csv never matches {ablation}.reproduction.csv
    dataset="[a-z0-9]+",
    model="[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*",
    seed=r"\d+",
    setting="|".join(re.escape(setting) for setting in STUDY.attacks),


def logged(path):
    """A job's log `path` in the run's logs folder: logs/, or logs/runs/<run>/ for a named run."""
    return os.path.join(paths.run_scoped(paths.LOGS_DIR, STUDY.run), path)


def benchmarked(path):
    """A job's benchmark `path` in the run's benchmarks folder: benchmarks/, or benchmarks/runs/<run>/."""
    return os.path.join(paths.run_scoped(paths.BENCHMARKS_DIR, STUDY.run), path)


def model_dir(wildcards):
    return paths.model_dir(RESULTS, wildcards.dataset, wildcards.model, wildcards.seed)


def model_settings(model):
    """The config's attack settings (name → setting, as written) that any ablation asks of this model."""
    return {setting: STUDY.attacks[setting] for setting in settings_of_model(model)}


def settings_json(wildcards):
    """The model's settings as JSON for `newlogic evaluate --settings`; the library interprets them."""
    return json_for_html(model_settings(wildcards.model), sort_keys=True)


def surrogate_dirs(wildcards):
    """Model directory of each surrogate the model's transfer settings craft on: the same seed's run."""
    names = {request.surrogate for request in attack_requests(model_settings(wildcards.model), DATASET).values()}
    return {name: paths.model_dir(RESULTS, wildcards.dataset, name, wildcards.seed) for name in sorted(names - {None})}


def surrogate_inputs(wildcards):
    found = surrogate_dirs(wildcards).values()
    return [path / name for path in found for name in (paths.METRICS_FILE, paths.WEIGHTS_FILE)]


def surrogates_json(wildcards):
    """`newlogic evaluate --surrogates`: surrogate model name → its model directory."""
    return json_for_html({name: str(path) for name, path in surrogate_dirs(wildcards).items()})


def evaluation_groups():
    """Models grouped by the attack settings they meet: (settings, models), most settings first.

    A rule's outputs are fixed, so each group gets its own evaluate rule (`evaluation_rule`).
    """
    groups = {}
    for entry in {entry.name for ablation in ABLATIONS.values() for entry in ablation.models}:
        groups.setdefault(tuple(settings_of_model(entry)), []).append(entry)
    return sorted(
        ((settings, sorted(models)) for settings, models in groups.items()),
        key=lambda group: (-len(group[0]), group[0]),
    )


def evaluation_rule(index):
    """`evaluate` for the first group, `evaluate_2`, `evaluate_3`, ... for the others."""
    return "evaluate" if index == 0 else f"evaluate_{index + 1}"


def settings_of_model(model):
    """Attack settings any ablation asks of this model."""
    return sorted({s for a in ABLATIONS.values() if model in [m.name for m in a.models] for s in a.evaluated})


def model_results(wildcards):
    return [
        paths.result_json(RESULTS, wildcards.dataset, wildcards.model, wildcards.seed, setting)
        for setting in settings_of_model(wildcards.model)
    ]


def ablation_inputs(wildcards):
    return ablation_files(wildcards.ablation)


def ablation_runs(ablation):
    """Every training run of the ablation, in table order: (model, seed, its attack result files)."""
    for entry in ablation.models:
        for seed in ablation.seeds:
            results = [paths.result_json(RESULTS, ablation.dataset, entry.name, seed, s) for s in ablation.settings]
            yield entry.name, seed, results


def ablation_files(name):
    """Everything the ablation's table reads: model metrics, results, checks and noise of every run."""
    ablation = ABLATIONS[name]
    files = []
    for model, seed, results in ablation_runs(ablation):
        files.append(paths.model_dir(RESULTS, ablation.dataset, model, seed) / paths.METRICS_FILE)
        files.append(paths.checks_json(RESULTS, ablation.dataset, model, seed))
        files.append(paths.noise_json(RESULTS, ablation.dataset, model, seed))
        files += results
    return files


def ablation_results(wildcards):
    return [result for _, _, results in ablation_runs(ABLATIONS[wildcards.ablation]) for result in results]


def ablation_metrics(wildcards):
    """The metrics.json of every training run of the ablation (its training curves)."""
    ablation = ABLATIONS[wildcards.ablation]
    return [
        paths.model_dir(RESULTS, ablation.dataset, model, seed) / paths.METRICS_FILE
        for model, seed, _ in ablation_runs(ablation)
    ]


def reproduction_table(ablation, ext):
    """``{results}/tables/{ablation}.reproduction.{ext}`` (``ablation`` may be the wildcard ``{ablation}``)."""
    return paths.TABLE.format(results=RESULTS, ablation=ablation, ext=f"{paths.REPRODUCTION_EXT}.{ext}")


def all_outputs():
    """Every result and table of every ablation (so a deleted result is made again), its figures, the depth plot."""
    files = [f"{DEPTH_FIGURES_DIR}/{paths.DEPTH_FIGURE}.png"]
    for name, ablation in ABLATIONS.items():
        files += [paths.TABLE.format(results=RESULTS, ablation=name, ext=ext) for ext in paths.TABLE_FORMATS]
        files.append(paths.TABLE.format(results=RESULTS, ablation=name, ext=paths.SUMMARY_EXT))
        files += [str(path) for path in ablation_files(name)]
        files += paths.figure_files(ABLATION_FIGURES_DIR.format(ablation=name), figure_catalog.ABLATION)
        if name in PUBLISHED:  # published against regenerated: its tables and figure (rule reproduction)
            files += [reproduction_table(name, ext) for ext in paths.TABLE_FORMATS]
            files.append(f"{ABLATION_FIGURES_DIR.format(ablation=name)}/{paths.REPRODUCTION_FIGURE}.png")
        for entry in ablation.models:
            figures_dir = MODEL_FIGURES_DIR.format(dataset=ablation.dataset, model=entry.name, seed=ablation.seeds[0])
            files += paths.figure_files(figures_dir, figure_catalog.MODEL)  # one figures_model job draws them all
    return sorted(set(files))


def data_marker(dataset):
    """The file `download_dataset` leaves once a dataset is fetched; none for a bundled one (`DatasetInfo.bundled`)."""
    return [] if dataset_info(dataset).bundled else f"{STUDY.data_dir}/.{dataset}.downloaded"


def report_png(path, name, caption="", **labels):
    """A figure's PNG as a report item, captioned by `caption` under workflow/report/ (or absolute), default {name}.rst."""
    return report(path, caption=os.path.join("../report", caption or f"{name}.rst"), category="Figures", labels=labels)
