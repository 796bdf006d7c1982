# Input functions and names shared by the rules; config interpretation lives in newlogic.study.
import json
import re

from newlogic.store import paths
from newlogic.spec import canonical_name
from newlogic.study import ablations

RESULTS = "results"
DATASET = config["dataset"]
ABLATIONS = ablations(config)
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
    dataset="[a-z0-9]+",
    model="[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*",
    seed=r"\d+",
    setting="|".join(re.escape(setting) for setting in config["attacks"]),


def model_dir(wildcards):
    return paths.model_dir(RESULTS, wildcards.dataset, wildcards.model, wildcards.seed)


# Keys of an attack setting that are not attack parameters: how to run it and how to show it.
RUN_KEYS = {"limit": "--limit", "batch_size": "--batch-size"}
SHOW_KEYS = ("attack", "label", "surrogate")


def attack_setting(wildcards):
    """The attack parameters of a setting, as JSON for `newlogic attack --setting`."""
    setting = config["attacks"][wildcards.setting]
    parameters = {k: v for k, v in setting.items() if k not in RUN_KEYS and k not in SHOW_KEYS}
    return json.dumps(parameters, sort_keys=True)


def surrogate_dir(wildcards):
    """A transfer setting's surrogate: the same seed's run of the model it names."""
    surrogate = config["attacks"][wildcards.setting].get("surrogate")
    if surrogate is None:
        return None
    return paths.model_dir(RESULTS, wildcards.dataset, canonical_name(surrogate, DATASET), wildcards.seed)


def surrogate_inputs(wildcards):
    found = surrogate_dir(wildcards)
    return [] if found is None else [found / paths.METRICS_FILE, found / paths.WEIGHTS_FILE]


def attack_run_options(wildcards):
    """`--limit N`, `--batch-size B`, `--surrogate-dir D` when the setting gives them."""
    setting = config["attacks"][wildcards.setting]
    options = [f"{flag} {setting[key]}" for key, flag in RUN_KEYS.items() if key in setting]
    surrogate = surrogate_dir(wildcards)
    if surrogate is not None:
        options.append(f"--surrogate-dir {surrogate}")
    return " ".join(options)


def settings_of_model(model):
    """Attack settings any ablation asks of this model."""
    return sorted({s for a in ABLATIONS.values() if model in [m.name for m in a.models] for s in a.settings})


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


def ablation_labels(wildcards):
    return json.dumps({entry.name: entry.label for entry in ABLATIONS[wildcards.ablation].models})


def all_outputs():
    """Every result and table of every ablation (so a deleted result is made again), its figures, the depth plot."""
    files = [f"{DEPTH_FIGURES_DIR}/{paths.DEPTH_FIGURE}.png"]
    for name, ablation in ABLATIONS.items():
        files += [paths.TABLE.format(results=RESULTS, ablation=name, ext=ext) for ext in paths.TABLE_FORMATS]
        files += [str(path) for path in ablation_files(name)]
        files.append(f"{ABLATION_FIGURES_DIR.format(ablation=name)}/{paths.ACCURACY_FIGURE}.png")
        for entry in ablation.models:
            figures_dir = MODEL_FIGURES_DIR.format(dataset=ablation.dataset, model=entry.name, seed=ablation.seeds[0])
            # one figure names the figures_model job, which draws them all
            files.append(f"{figures_dir}/{paths.MODEL_FIGURE_NAMES[0]}.png")
    return sorted(set(files))
