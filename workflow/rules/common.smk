# Input functions and names shared by the rules; config interpretation lives in newlogic.ablation.
import json

from newlogic import paths
from newlogic.workflow_config import ablations

RESULTS = "results"
DATASET = config["dataset"]
ABLATIONS = ablations(config)
WILDCARDS = {"results": RESULTS, "dataset": "{dataset}", "model": "{model}", "seed": "{seed}", "setting": "{setting}"}
MODEL_DIR = paths.MODEL_DIR.format(**WILDCARDS)
RESULT_JSON = paths.RESULT_JSON.format(**WILDCARDS)
RESULT_NPZ = paths.RESULT_NPZ.format(**WILDCARDS)
CHECKS_JSON = paths.CHECKS_JSON.format(**WILDCARDS)


wildcard_constraints:
    dataset="[a-z0-9]+",
    model="[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*",
    seed=r"\d+",
    setting=r"(?!checks$)[A-Za-z0-9_.]+",


def model_dir(wildcards):
    return paths.model_dir(RESULTS, wildcards.dataset, wildcards.model, wildcards.seed)


# Keys of an attack setting that are not attack parameters: how to run it and how to show it.
RUN_KEYS = {"limit": "--limit", "batch_size": "--batch-size"}
SHOW_KEYS = ("attack", "label")


def attack_setting(wildcards):
    """The attack parameters of a setting, as JSON for `newlogic attack --setting`."""
    setting = config["attacks"][wildcards.setting]
    parameters = {k: v for k, v in setting.items() if k not in RUN_KEYS and k not in SHOW_KEYS}
    return json.dumps(parameters, sort_keys=True)


def attack_run_options(wildcards):
    """`--limit N` / `--batch-size B` when the setting gives them."""
    setting = config["attacks"][wildcards.setting]
    return " ".join(f"{flag} {setting[key]}" for key, flag in RUN_KEYS.items() if key in setting)


def settings_of_model(model):
    """Attack settings any ablation asks of this model."""
    return sorted({s for a in ABLATIONS.values() if model in [m.name for m in a.models] for s in a.settings})


def model_results(wildcards):
    return [
        paths.result_json(RESULTS, wildcards.dataset, wildcards.model, wildcards.seed, setting)
        for setting in settings_of_model(wildcards.model)
    ]


def ablation_inputs(wildcards):
    ablation = ABLATIONS[wildcards.ablation]
    files = []
    for entry in ablation.models:
        for seed in ablation.seeds:
            files.append(paths.model_dir(RESULTS, ablation.dataset, entry.name, seed) / "metrics.json")
            files.append(paths.checks_json(RESULTS, ablation.dataset, entry.name, seed))
            files += [paths.result_json(RESULTS, ablation.dataset, entry.name, seed, s) for s in ablation.settings]
    return files


def all_tables():
    return [
        paths.TABLE.format(results=RESULTS, ablation=name, ext=ext)
        for name in ABLATIONS
        for ext in paths.TABLE_FORMATS
    ]
