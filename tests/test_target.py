"""Attacks have no side effects: the model stays in eval mode and its state_dict bit-identical (issue 10)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from newlogic.attacks import CATALOG, resolve_setting
from newlogic.data import Split, load_dataset
from newlogic.evaluation.batches import evaluate_attack
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.evaluation.shuffled import ShuffledTest
from newlogic.evaluation.target import AttackSideEffect, attack_target

IMAGES = 6


@pytest.fixture(scope="module")
def ramped_bn_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ReLog MNIST-CNN with BatchNorm, trained one epoch of a 100-epoch ramp (``relog_ramp_unfinished``)."""
    from newlogic.training.run import run_training

    out_dir = tmp_path_factory.mktemp("models") / "relog-bn"
    run_training("relog", "digits", out_dir, data_dir=out_dir.parent, seed=0, device="cpu",
                 training={"epochs": 1, "relog_ramp_epochs": 100}, architecture={"batchnorm": True})
    return out_dir


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def test_no_attack_changes_the_models_mode_or_state(ramped_bn_model_dir: Path, quick_settings: dict) -> None:
    trained = load_trained_model(ramped_bn_model_dir)
    surrogate = load_trained_model(ramped_bn_model_dir)
    model = trained.model
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert "relog_ramp_unfinished" in (ramped_bn_model_dir / "metrics.json").read_text()
    ramps = {key: value for key, value in model.state_dict().items() if key.endswith("strength")}
    assert ramps and all(float(value) < 1 for value in ramps.values())  # the ramp has not finished
    before = _state(model)
    test = load_dataset("digits", ramped_bn_model_dir.parent)[1]
    clean = {}
    for name in CATALOG:  # a fresh ShuffledTest each: the clean predictions are measured again after each attack
        shuffled = ShuffledTest(Split(test.images[:IMAGES], test.labels[:IMAGES]), 0, model, trained.spec.output,
                                torch.device("cpu"))
        attack = resolve_setting({"attack": name, **quick_settings[name]}, "digits")
        _, samples = evaluate_attack(shuffled, IMAGES, attack, seed=0, batch_size=3, surrogate=surrogate)
        clean[name] = samples["clean_pred"]
        assert not any(module.training for module in model.modules()), name
    reference = clean["fgsm"]
    assert all(np.array_equal(preds, reference) for preds in clean.values()), clean
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[key], after[key]) for key in before), [k for k in before
                                                                          if not torch.equal(before[k], after[k])]


def test_the_target_stays_in_eval_mode_when_an_attack_calls_train(digits_model_dir: Path) -> None:
    model = load_trained_model(digits_model_dir).model
    target = attack_target(model, "softmax", "scores")
    target.train()  # torchattacks's restore of a recorded training mode
    assert not target.training and not any(module.training for module in model.modules())


def test_an_attack_with_a_side_effect_is_an_error_not_a_result(ramped_bn_model_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def sloppy(target, x, y, attack, context):
        target.model.train()  # what the old torchattacks restore did to the wrapped model
        target(x)  # BatchNorm statistics and the ramp move
        target.model.eval()
        return x.clone()

    monkeypatch.setattr("newlogic.attacks.gradient.fgsm", sloppy)
    trained = load_trained_model(ramped_bn_model_dir)
    test = load_dataset("digits", ramped_bn_model_dir.parent)[1]
    attack = resolve_setting({"attack": "fgsm"}, "digits")
    with pytest.raises(AttackSideEffect, match="changed the model's state"):
        evaluate_attack(ShuffledTest(test, 0, trained.model, "softmax", torch.device("cpu")), 4, attack, seed=0,
                        batch_size=4)
