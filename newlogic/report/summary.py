"""A study's one-file summary per ablation, ``results/tables/{ablation}.summary.json`` (docs/results.md).

It follows the RobustBench model-card fields where they apply: per model ``clean_acc`` and
``robust_acc`` per threat model (``Linf``, ``L2``, ``L0``) and ε, the attacks used and the number of
evaluated samples, plus this project's provenance (commit, config hash, weights hash per run) and
the gradient-masking verdicts of ``checks.json``. Accuracies are fractions in [0, 1] (RobustBench
prints percentages); a value over seeds is the mean, with the sample std (n − 1) and each seed's.

``robust_acc`` at (threat model, ε) is the per-sample worst case over every attack run there
(``newlogic.report.worst_case``, from each run's ``checks.json``): an image counts as robust only
if it survived all of them; each seed's carries its sample count ``n_samples``, its 95 %
Clopper–Pearson ``interval`` and its ``kind``, and ``pooled`` gives the seeds' images pooled (accuracy,
n, survivors, the interval the tables print: it covers the images for these seeds' trained networks,
not training variance); ``upper_bound`` is true when the model's verdict is ``masking suspected`` (or
no worst case was computed), so the figure bounds the truth from above; ``method`` is
``per_sample_worst_case`` only when every seed's is a worst case (a sound attack ran), else the
weakest kind (``one_step_only``, ``weak_attacks_only``: no worst case); ``incomplete_seeds`` lists the
seeds of the ablation that lack it or one of the attacks another seed's covers (never silently
dropped from the mean). Each attack's ``interval`` is the 95 % Clopper–Pearson interval of each
seed's accuracy on its samples, and its ``pooled`` the seeds' images pooled. At a (threat model, ε)
where no run's ``checks.json`` has a worst case, the lowest accuracy of a single attack stands in
(``method: min_over_attacks``, an upper bound on the worst case). ``n_evaluated_samples`` is the
fewest images per seed that any worst case rests on (or, with none, that any attack ran on).
``vocabulary`` gives each verdict word its one meaning (``newlogic.report.vocabulary``).
Every file is read through the verified collector ``newlogic.report.collect`` (the tables' own):
another model's or a misplaced file is a UserError, never a number. No torch; the schema is
``workflow/schemas/summary.schema.yaml``.
"""

from pathlib import Path
from typing import Any

from newlogic.attacks.catalog import NOISE
from newlogic.report.collect import AblationResults, ModelResults, RunFiles, collect_ablation
from newlogic.report.entries import ChecksEntry, WorstCaseEntry, read_checks
from newlogic.report.reproduction import reproduction_summary
from newlogic.report.vocabulary import (
    INCOMPLETE,
    MASKING_SUSPECTED,
    MEANINGS,
    MIN_OVER_ATTACKS,
    PER_SAMPLE_WORST_CASE,
    VERDICTS,
    WORST_CASE,
    threat_name,
)
from newlogic.report.worst_case import pooled
from newlogic.stats import accuracy_interval, sample_std
from newlogic.store import paths
from newlogic.store.atomic import atomic_write_json
from newlogic.store.provenance import collect_provenance
from newlogic.study import Ablation, Study

SCHEMA_VERSION = 2  # 2: pooled worst case, upper_bound, the true n_evaluated_samples, vocabulary (issue 28)

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
        "threat_model": threat_name(first["norm"]), "eps": first["eps"],
        "unbounded": first["unbounded"], "parameters": first["parameters"],
        "accuracy": over_seeds({seed: r["adv_accuracy"] for seed, r in results.items()}),
        "n_samples": {str(seed): r["sample_count"] for seed, r in results.items()},
        "interval": {str(seed): accuracy_interval(r["adv_accuracy"], r["sample_count"]) for seed, r in results.items()},
        "pooled": pooled((round(r["adv_accuracy"] * r["sample_count"]), r["sample_count"]) for r in results.values()),
        "subset": any(r["subset"] for r in results.values()),
    }


def _case_entry(threat: str, eps: float, by_seed: dict[int, WorstCaseEntry], seeds: tuple[int, ...]) -> dict[str, Any]:
    """One (threat model, ε) of ``checks.json``'s worst cases over the seeds: kind, n, interval, incomplete seeds."""
    attacks = {s for case in by_seed.values() for s in case.settings}
    weaker = [case.kind for case in by_seed.values() if case.kind != WORST_CASE]
    return {"threat_model": threat, "eps": eps, "method": weaker[0] if weaker else PER_SAMPLE_WORST_CASE,
            "accuracy": over_seeds({seed: case.accuracy for seed, case in by_seed.items()}),
            "attacks": sorted(attacks),
            "n_samples": {str(seed): case.n for seed, case in by_seed.items()},
            "interval": {str(seed): list(case.interval or ()) for seed, case in by_seed.items()},
            "pooled": pooled(case.counts for case in by_seed.values()),
            "incomplete_seeds": [seed for seed in seeds
                                 if seed not in by_seed or set(by_seed[seed].settings) != attacks]}


def _robust_accuracy(attacks: list[dict[str, Any]], checks: dict[int, ChecksEntry],
                     seeds: tuple[int, ...]) -> list[dict[str, Any]]:
    """Per (threat model, ε): the worst case over the attacks run there, from ``checks.json`` where it has one."""
    cases: dict[tuple[str, float], dict[int, WorstCaseEntry]] = {}
    for seed, report in checks.items():
        for case in report.worst_cases:
            cases.setdefault((case.threat, case.eps), {})[seed] = case
    entries = [_case_entry(threat, eps, by_seed, seeds) for (threat, eps), by_seed in cases.items()]
    measured = [a for a in attacks if a["eps"] is not None and a["kind"] != NOISE]
    for threat, eps in sorted({(a["threat_model"], a["eps"]) for a in measured} - set(cases)):
        group = [a for a in measured if (a["threat_model"], a["eps"]) == (threat, eps)]
        lowest = min(group, key=lambda a: a["accuracy"]["mean"])
        entries.append({"threat_model": threat, "eps": eps, "method": MIN_OVER_ATTACKS, "accuracy": lowest["accuracy"],
                        "attacks": [a["setting"] for a in group], "n_samples": lowest["n_samples"],
                        "interval": lowest["interval"], "pooled": lowest["pooled"],
                        "incomplete_seeds": [seed for seed in seeds if str(seed) not in lowest["n_samples"]]})
    return sorted(entries, key=lambda e: (e["threat_model"], e["eps"]))


def _masking(checks: dict[int, ChecksEntry], seeds: tuple[int, ...]) -> dict[str, Any]:
    """The model's verdict (the worst of its seeds' ``VERDICTS``; a seed without ``checks.json`` is incomplete) and
    the flags."""
    per_seed = {str(seed): checks[seed].verdict if seed in checks else INCOMPLETE for seed in seeds}
    return {
        "verdict": min(per_seed.values(), key=VERDICTS.index),
        "per_seed": per_seed,
        "flags": sorted({flag.check for report in checks.values() for flag in report.flags}),
    }


def _run(run: RunFiles) -> dict[str, Any]:
    metrics, reference = run.metrics or {}, run.reference or {}
    provenance = metrics.get("provenance", {})
    return {"seed": run.seed, "model_dir": str(run.model_dir), "config_hash": reference.get("config_hash"),
            "git_commit": provenance.get("git", {}).get("commit"),
            "weights_sha256": reference.get("weights_sha256"),
            "training_seconds": metrics.get("training_seconds"), "flags": metrics.get("flags", [])}


def model_summary(ablation: Ablation, model: ModelResults) -> dict[str, Any]:
    """One model of the ablation over its seeds: clean and robust accuracy, attacks, runs, masking verdict."""
    clean = {seed: run.metrics["final"]["test_accuracy"] for seed, run in model.runs.items() if run.metrics}
    checks = {seed: read_checks(run.checks) for seed, run in model.runs.items() if run.checks is not None}
    by_setting = {setting: {seed: run.results[setting].data for seed, run in model.runs.items()
                            if setting in run.results} for setting in ablation.settings}
    attacks = [_attack_entry(setting, found) for setting, found in by_setting.items() if found]
    masking = _masking(checks, ablation.seeds)
    robust = _robust_accuracy(attacks, checks, ablation.seeds)
    for entry in robust:  # a flagged model's worst case, and the lowest single attack, bound the truth from above
        entry["upper_bound"] = masking["verdict"] == MASKING_SUSPECTED or entry["method"] == MIN_OVER_ATTACKS
    counts = [n for entry in (robust or attacks) for n in entry["n_samples"].values()]
    return {
        "name": model.name, "label": model.label, "dataset": ablation.dataset,
        "clean_acc": over_seeds(clean), "robust_acc": robust,
        "attacks": attacks, "attacks_used": sorted({a["attack"] for a in attacks}),
        "n_evaluated_samples": min(counts) if counts else 0,
        "masking": masking,
        "runs": [_run(run) for run in model.runs.values() if run.metrics is not None],
    }


def summary_of(collected: AblationResults, config: dict[str, Any]) -> dict[str, Any]:
    """The summary of an ablation's verified files (missing files are listed under ``missing``, never dropped)."""
    ablation = collected.ablation
    return {
        "schema_version": SCHEMA_VERSION, "ablation": ablation.name,
        "caption": config["ablations"][ablation.name].get("caption"), "dataset": ablation.dataset,
        "seeds": list(ablation.seeds), "settings": list(ablation.settings), "accuracy_unit": "fraction",
        "vocabulary": dict(MEANINGS),
        "models": [model_summary(ablation, model) for model in collected.models],
        "missing": [str(path) for path, _reason in collected.missing],
        "provenance": collect_provenance({"ablation": ablation.name, "config": config}),
        "reproduction": reproduction_summary(collected, config),  # published against regenerated (issue 24)
    }


def summarize(config: dict[str, Any], ablation_name: str, results_dir: Path) -> dict[str, Any]:
    """The summary of one ablation, read through the verified collector (``newlogic.report.collect``)."""
    return summary_of(collect_ablation(config, ablation_name, Path(results_dir)), config)


def write_summary(study: Study, ablation_name: str, *, results_dir: Path, out_dir: Path) -> Path:
    """Write ``out_dir/{ablation}.summary.json`` atomically (``study``: ``newlogic.study_loader.load_study``)."""
    return write_summary_json(summarize(study.config, ablation_name, Path(results_dir)), out_dir)


def write_summary_json(summary: dict[str, Any], out_dir: Path | str) -> Path:
    """Write a summary to ``out_dir/{ablation}.summary.json`` atomically; returns its path."""
    out = Path(out_dir) / f"{summary['ablation']}.{paths.SUMMARY_EXT}"
    atomic_write_json(out, summary)
    return out
