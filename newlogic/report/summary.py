"""A study's one-file summary per ablation, ``results/tables/{ablation}.summary.json`` (docs/results.md).

It follows the RobustBench model-card fields where they apply: per model ``clean_acc`` and
``robust_acc`` per threat model (``Linf``, ``L2``, ``L0``) and ε, the attacks used and the number of
evaluated samples, plus this project's provenance (commit, config hash, weights hash per run) and
the gradient-masking verdicts of ``checks.json``. Accuracies are fractions in [0, 1] (RobustBench
prints percentages); a value over seeds is the mean, with the sample std (n − 1) and each seed's.

``robust_acc`` at (threat model, ε) is the per-sample worst case over every attack run there
(``newlogic.report.worst_case``, from each run's ``checks.json``): an image counts as robust only
if it survived all of them. At a (threat model, ε) where no run's ``checks.json`` has a worst case,
the lowest accuracy of a single attack stands in (``method: min_over_attacks``, an upper bound on
the worst case).
Reads only JSON files (no torch); the schema is ``workflow/schemas/summary.schema.yaml``.
"""

from pathlib import Path
from typing import Any

from newlogic.report.stats import sample_std
from newlogic.store import paths
from newlogic.store.atomic import atomic_write_json
from newlogic.store.json_file import read_json_object
from newlogic.store.provenance import collect_provenance
from newlogic.store.results import read_result
from newlogic.study import Ablation, get_ablation, load_config

SCHEMA_VERSION = 1
SUMMARY_SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "summary.schema.yaml"
THREAT_MODELS = {"linf": "Linf", "l2": "L2", "l0": "L0"}  # RobustBench's spelling of the norms
VERDICT_ORDER = ("suspect", "not evaluated", "robust")  # a model's verdict is the worst of its seeds'
WORST_CASE, MIN_OVER_ATTACKS = "per_sample_worst_case", "min_over_attacks"
NOISE_KIND = "noise"  # the uniform-noise baseline: not an attack, never a robust accuracy


def _read_json(path: Path, missing: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        missing.append(str(path))
        return None
    return read_json_object(path, "rerun the stage that writes it")


def over_seeds(values: dict[int, float]) -> dict[str, Any]:
    """``{mean, std, per_seed}`` of per-seed values (std: sample std, null for one seed; all null when none)."""
    numbers = list(values.values())
    return {"mean": sum(numbers) / len(numbers) if numbers else None, "std": sample_std(numbers),
            "per_seed": {str(seed): value for seed, value in values.items()}}


def _attack_entry(setting: str, results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One attack setting of one model over its seeds: what ran, its accuracy, how many images."""
    first = next(iter(results.values()))
    return {
        "setting": setting, "attack": first["attack"], "kind": first["attack_kind"], "preset": first["preset"],
        "threat_model": THREAT_MODELS.get(first["norm"], first["norm"]), "eps": first["eps"],
        "unbounded": first["unbounded"], "parameters": first["parameters"],
        "accuracy": over_seeds({seed: r["adv_accuracy"] for seed, r in results.items()}),
        "n_samples": {str(seed): r["sample_count"] for seed, r in results.items()},
        "subset": any(r["subset"] for r in results.values()),
    }


def _robust_accuracy(attacks: list[dict[str, Any]], checks: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (threat model, ε): the worst case over the attacks run there, from ``checks.json`` where it has one."""
    cases: dict[tuple[str, float], dict[int, dict[str, Any]]] = {}
    for seed, report in checks.items():
        for case in report.get("worst_case", []):
            cases.setdefault((THREAT_MODELS[case["norm"]], case["eps"]), {})[seed] = case
    entries = [
        {"threat_model": threat, "eps": eps, "method": WORST_CASE,
         "accuracy": over_seeds({seed: case["accuracy"] for seed, case in by_seed.items()}),
         "attacks": sorted({s for case in by_seed.values() for s in case["settings"]}),
         "n_samples": {str(seed): case["sample_count"] for seed, case in by_seed.items()}}
        for (threat, eps), by_seed in cases.items()
    ]
    measured = [a for a in attacks if a["eps"] is not None and a["kind"] != NOISE_KIND]
    for threat, eps in sorted({(a["threat_model"], a["eps"]) for a in measured} - set(cases)):
        group = [a for a in measured if (a["threat_model"], a["eps"]) == (threat, eps)]
        lowest = min(group, key=lambda a: a["accuracy"]["mean"])
        entries.append({"threat_model": threat, "eps": eps, "method": MIN_OVER_ATTACKS, "accuracy": lowest["accuracy"],
                        "attacks": [a["setting"] for a in group], "n_samples": lowest["n_samples"]})
    return sorted(entries, key=lambda e: (e["threat_model"], e["eps"]))


def _masking(checks: dict[int, dict[str, Any]], seeds: tuple[int, ...]) -> dict[str, Any]:
    """The model's verdict (the worst of its seeds'; a seed without ``checks.json`` is not evaluated) and the flags."""
    per_seed = {str(seed): checks[seed].get("verdict", "not evaluated") if seed in checks else "not evaluated"
                for seed in seeds}
    return {
        "verdict": min(per_seed.values(), key=VERDICT_ORDER.index),
        "per_seed": per_seed,
        "flags": sorted({flag["check"] for report in checks.values() for flag in report.get("flags", [])}),
    }


def _run(seed: int, model_dir: Path, metrics: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    provenance = metrics.get("provenance", {})
    weights = {r["model_ref"].get("weights_sha256") for r in results if "model_ref" in r}
    return {"seed": seed, "model_dir": str(model_dir), "config_hash": provenance.get("config_hash"),
            "git_commit": provenance.get("git", {}).get("commit"),
            "weights_sha256": weights.pop() if len(weights) == 1 else None,
            "training_seconds": metrics.get("training_seconds"), "flags": metrics.get("flags", [])}


def model_summary(ablation: Ablation, name: str, label: str, results_dir: Path, missing: list[str]) -> dict[str, Any]:
    """One model of the ablation over its seeds: clean and robust accuracy, attacks, runs, masking verdict."""
    clean: dict[int, float] = {}
    by_setting: dict[str, dict[int, dict[str, Any]]] = {}
    checks: dict[int, dict[str, Any]] = {}
    runs = []
    for seed in ablation.seeds:
        model_dir = paths.model_dir(results_dir, ablation.dataset, name, seed)
        metrics = _read_json(model_dir / paths.METRICS_FILE, missing)
        seed_results = []
        for setting in ablation.settings:
            path = paths.result_json(results_dir, ablation.dataset, name, seed, setting)
            if not path.is_file():
                missing.append(str(path))
                continue
            data = read_result(path).data
            by_setting.setdefault(setting, {})[seed] = data
            seed_results.append(data)
        report = _read_json(paths.checks_json(results_dir, ablation.dataset, name, seed), missing)
        if report is not None:
            checks[seed] = report
        if metrics is not None:
            clean[seed] = metrics["final"]["test_accuracy"]
            runs.append(_run(seed, model_dir, metrics, seed_results))
    attacks = [_attack_entry(setting, by_setting[setting]) for setting in ablation.settings if setting in by_setting]
    counts = [n for a in attacks for n in a["n_samples"].values()]
    return {
        "name": name, "label": label, "dataset": ablation.dataset,
        "clean_acc": over_seeds(clean), "robust_acc": _robust_accuracy(attacks, checks),
        "attacks": attacks, "attacks_used": sorted({a["attack"] for a in attacks}),
        "n_evaluated_samples": max(counts) if counts else 0,
        "masking": _masking(checks, ablation.seeds), "runs": runs,
    }


def summarize(config: dict[str, Any], ablation_name: str, results_dir: Path) -> dict[str, Any]:
    """The summary of one ablation (missing files are listed under ``missing``, never dropped silently)."""
    ablation = get_ablation(config, ablation_name)
    missing: list[str] = []
    models = [model_summary(ablation, e.name, e.label, Path(results_dir), missing) for e in ablation.models]
    return {
        "schema_version": SCHEMA_VERSION, "ablation": ablation.name,
        "caption": config["ablations"][ablation.name].get("caption"), "dataset": ablation.dataset,
        "seeds": list(ablation.seeds), "settings": list(ablation.settings), "accuracy_unit": "fraction",
        "models": models, "missing": missing,
        "provenance": collect_provenance({"ablation": ablation.name, "config": config}),
    }


def write_summary(config_source: Path | str, ablation_name: str, *, results_dir: Path, out_dir: Path) -> Path:
    """Write ``out_dir/{ablation}.summary.json`` atomically; returns its path."""
    summary = summarize(load_config(config_source), ablation_name, Path(results_dir))
    out = Path(out_dir) / f"{ablation_name}.{paths.SUMMARY_EXT}"
    atomic_write_json(out, summary)
    return out
