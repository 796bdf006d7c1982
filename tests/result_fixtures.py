"""Hand-made attack results (JSON + ``.npz``) written through ``newlogic.store.results``, for checks and tables.

``fake_model_dir``, ``fake_setting_result`` and ``fake_noise`` write a run's files as training,
``newlogic attack`` and ``newlogic noise`` do, each carrying the model reference the verified
collector (``newlogic.report.collect``) checks.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.attacks import resolve_setting
from newlogic.attacks.request import attack_request
from newlogic.store import paths
from newlogic.store.provenance import config_hash
from newlogic.store.results import NOISE_SCHEMA_VERSION, SCHEMA_VERSION, sha256_file, write_result

KINDS = {"fgsm": "one_step", "fgm_l2": "one_step", "bim": "iterative", "pgd": "iterative", "cw_l2": "iterative",
         "max_confidence": "iterative", "spsa": "black_box", "transfer": "transfer", "autoattack": "ensemble",
         "uniform_noise": "noise", "square": "black_box", "adaptive": "adaptive"}
NORMS = {"fgm_l2": "l2", "cw_l2": "l2"}
PARAMETERS = {"bim": {"nb_iter": 5}, "pgd": {"nb_iter": 40, "restarts": 3}}


def fake_result(path: Path, correct: list[int], *, attack: str, eps: float | None, index: list[int] | None = None,
                attack_on: str = "scores", unbounded: bool = False, model: str = "relu", seed: int = 0,
                clean: list[int] | None = None, l2: list[float] | None = None, zero_gradient: float | None = None,
                parameters: dict[str, Any] | None = None, subset: bool = False, batch_size: int = 10,
                confidence: list[float] | None = None, **fields: Any) -> Path:
    """A complete result at ``path`` with per-sample correctness ``correct`` (clean: all correct unless given);
    ``confidence``: its ``adv_confidence`` array (none unless given)."""
    count = len(correct)
    clean = [1] * count if clean is None else clean
    overrides: dict[str, Any] = {} if eps is None else {"eps": eps}
    if attack_on != "scores":
        overrides["attack_on"] = attack_on
    batches = [correct[start:start + batch_size] for start in range(0, count, batch_size)]
    clean_batches = [clean[start:start + batch_size] for start in range(0, count, batch_size)]
    result = {
        "schema_version": SCHEMA_VERSION, "complete": True, "setting": path.stem, "model": model, "dataset": "digits",
        "model_ref": {"name": model, "seed": seed, "weights_sha256": f"{model}-{seed}", "config_hash": model},
        "attack": attack, "attack_kind": KINDS[attack], "norm": NORMS.get(attack, "linf"), "eps": eps,
        "unbounded": unbounded, "preset": "paper", "overrides": overrides, "attack_on": attack_on,
        "parameters": {**PARAMETERS.get(attack, {}), **(parameters or {}), "attack_on": attack_on},
        "seed": seed, "subset": subset, "sample_count": count, "test_size": count,
        "clean_accuracy": float(np.mean(clean)), "adv_accuracy": float(np.mean(correct)),
        "batch_clean_accuracies": [float(np.mean(b)) for b in clean_batches],
        "batch_adv_accuracies": [float(np.mean(b)) for b in batches],
        "zero_gradient_fraction": zero_gradient, **fields,
    }
    samples = {"index": np.array(index if index is not None else range(count)),
               "clean_correct": np.array(clean, dtype=bool), "adv_correct": np.array(correct, dtype=bool),
               "l2": np.array(l2 if l2 is not None else [0.5] * count, dtype=np.float32)}
    if confidence is not None:
        samples["adv_confidence"] = np.array(confidence, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_result(path, result, samples)
    return path


def _write_json(path: Path, content: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def fake_model_dir(results: Path, model: str, seed: int, *, test_accuracy: float = 0.9, dataset: str = "digits",
                   flags: list[str] | None = None, epochs: list[dict[str, Any]] | None = None,
                   config_hash_of: str | None = None) -> dict[str, Any]:
    """A finished model directory (``config.json`` with its fingerprint and weights hash, ``model.pt``,
    ``metrics.json``); returns its ``model_ref`` (name, seed, config_hash, weights_sha256, dir, git)."""
    model_dir = paths.model_dir(results, dataset, model, seed)
    model_dir.mkdir(parents=True, exist_ok=True)
    weights = model_dir / paths.WEIGHTS_FILE
    weights.write_bytes(f"weights of {model} seed {seed}".encode())
    record = {"schema_version": 1, "model": {"name": model}, "dataset": dataset, "seed": seed,
              "training": {"tag": config_hash_of or model}, "architecture": {}}
    fingerprint = config_hash(record)
    git = {"commit": "abc", "dirty": False}
    reference = {"name": model, "seed": seed, "config_hash": fingerprint, "weights_sha256": sha256_file(weights)}
    _write_json(model_dir / "config.json", {**record, "weights_sha256": reference["weights_sha256"],
                                            "provenance": {"config_hash": fingerprint, "git": git}})
    _write_json(model_dir / paths.METRICS_FILE, {
        "schema_version": 1, "epochs": epochs or [], "final": {"test_accuracy": test_accuracy},
        "flags": flags or [], "training_seconds": 3.0, "model_ref": reference,
        "provenance": {"config_hash": fingerprint, "git": git}})
    return {**reference, "dir": str(model_dir), "git": git}


def fake_setting_result(results: Path, reference: Mapping[str, Any], setting_id: str, setting: Mapping[str, Any],
                        correct: list[int], *, dataset: str = "digits", **options: Any) -> Path:
    """The result of the config's ``setting`` (resolved as ``newlogic attack`` does) on the model of ``reference``."""
    attack = resolve_setting(attack_request(setting_id, setting, dataset).attack, dataset)
    path = paths.result_json(results, dataset, reference["name"], reference["seed"], setting_id)
    return fake_result(path, correct, attack=attack.name, eps=attack.eps, model=reference["name"],
                       seed=reference["seed"], parameters=dict(attack.params), unbounded=attack.unbounded,
                       attack_on=attack.params["attack_on"], preset=attack.preset, norm=attack.norm,
                       model_ref=dict(reference), **options)


def fake_noise(results: Path, reference: Mapping[str, Any], *, noise: float = 0.5, scrambled: float = 0.25,
               dataset: str = "digits", count: int = 100) -> Path:
    """The run's ``noise.json`` with these rejection rates of uniform-noise and scrambled images."""
    path = paths.noise_json(results, dataset, reference["name"], reference["seed"])
    inputs = {name: {"count": count, "rejection_rate": rate, "mean_max_probability": 0.5, "description": name}
              for name, rate in (("clean", 0.0), ("uniform_noise", noise), ("scrambled", scrambled))}
    _write_json(path, {"schema_version": NOISE_SCHEMA_VERSION, "model": reference["name"], "dataset": dataset,
                       "n_samples": count, "seed": reference["seed"], "inputs": inputs,
                       "model_ref": dict(reference)})
    return path
