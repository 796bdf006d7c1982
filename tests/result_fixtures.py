"""Hand-made attack results (JSON + ``.npz``) written through ``newlogic.store.results``, for checks and tables."""

from pathlib import Path
from typing import Any

import numpy as np

from newlogic.store.results import SCHEMA_VERSION, write_result

KINDS = {"fgsm": "one_step", "fgm_l2": "one_step", "bim": "iterative", "pgd": "iterative", "cw_l2": "iterative",
         "max_confidence": "iterative", "spsa": "black_box", "transfer": "transfer", "autoattack": "ensemble",
         "uniform_noise": "noise"}
NORMS = {"fgm_l2": "l2", "cw_l2": "l2"}
PARAMETERS = {"bim": {"nb_iter": 5}, "pgd": {"nb_iter": 40, "restarts": 3}}


def fake_result(path: Path, correct: list[int], *, attack: str, eps: float | None, index: list[int] | None = None,
                attack_on: str = "scores", unbounded: bool = False, model: str = "relu", seed: int = 0,
                clean: list[int] | None = None, l2: list[float] | None = None, zero_gradient: float | None = None,
                parameters: dict[str, Any] | None = None, subset: bool = False, batch_size: int = 10,
                **fields: Any) -> Path:
    """A complete result at ``path`` with per-sample correctness ``correct`` (clean: all correct unless given)."""
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
    path.parent.mkdir(parents=True, exist_ok=True)
    write_result(path, result, samples)
    return path
