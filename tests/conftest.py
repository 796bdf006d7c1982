"""Shared fixtures: small trained digits models (session-scoped, trained once per test run)."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from newlogic.store.paths import CONFIG_FILE, WEIGHTS_FILE
from newlogic.store.results import sha256_file

DIGITS_EPOCHS = 3
MASKING_SCALE = 1000.0
# Small parameters so that every registered attack runs in about a second on a few digits images.
QUICK_SETTINGS = {
    "fgsm": {}, "fgm_l2": {}, "bim": {}, "pgd": {"nb_iter": 10, "restarts": 2},
    "cw_l2": {"max_iterations": 20}, "spsa": {"nb_iter": 3, "spsa_samples": 8},
    "max_confidence": {}, "jsma": {"gamma": 0.02}, "transfer": {"base_attack": "pgd", "nb_iter": 5},
    "autoattack": {"apgd_steps": 3, "fab_steps": 3, "square_queries": 10}, "uniform_noise": {},
    "square": {"square_queries": 10}, "apgd_max_loss": {"apgd_steps": 3},
    "adaptive": {"nb_iter": 10, "restarts": 2},
}


def _train(tmp_path_factory: pytest.TempPathFactory, model_name: str) -> Path:
    from newlogic.training.run import run_training  # here, so that a session without these fixtures does not need it

    out_dir = tmp_path_factory.mktemp("models") / model_name
    run_training(model_name, "digits", out_dir, data_dir=out_dir.parent, seed=0, device="cpu",
                 training={"epochs": DIGITS_EPOCHS}, architecture={})
    return out_dir


@pytest.fixture(scope="session")
def quick_settings() -> dict[str, dict]:
    """Per registered attack, parameter overrides that make it quick (a setting without its ``attack`` key)."""
    return QUICK_SETTINGS


@pytest.fixture(scope="session")
def digits_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain ReLU MNIST-CNN trained for a few epochs on digits (about 90 % test accuracy)."""
    return _train(tmp_path_factory, "relu")


@pytest.fixture(scope="session")
def sigmoid_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ReLU MNIST-CNN with sigmoid outputs (``sigmoid_out``) trained for a few epochs on digits."""
    return _train(tmp_path_factory, "relu-sigmoid_out")


@pytest.fixture(scope="session")
def masked_model_dir(digits_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ReLU model with its output layer scaled by 1000: same predictions, a saturated softmax.

    Cross-entropy gradients underflow to exactly 0 wherever the margin exceeds ~0.1, so
    gradient attacks see nothing while gradient-free and margin-based attacks still succeed:
    a deliberately gradient-masked model (Athalye et al. 2018).
    """
    out_dir = tmp_path_factory.mktemp("models") / "masked"
    shutil.copytree(digits_model_dir, out_dir)
    state = torch.load(out_dir / WEIGHTS_FILE, weights_only=True)
    output_layer = [key for key in state if key.startswith("classifier.")]
    assert output_layer, f"no classifier.* weights in {sorted(state)}"
    for key in output_layer:
        state[key] = state[key] * MASKING_SCALE
    torch.save(state, out_dir / WEIGHTS_FILE)
    record = json.loads((out_dir / CONFIG_FILE).read_text())  # the new weights' hash, as training records it
    (out_dir / CONFIG_FILE).write_text(json.dumps({**record, "weights_sha256": sha256_file(out_dir / WEIGHTS_FILE)}))
    return out_dir
