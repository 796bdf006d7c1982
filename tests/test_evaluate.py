"""run_attack_setting: every attack writes a valid result (docs/results.md), reuse, OOM halving, sigmoid models."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from newlogic.attacks import CATALOG
from newlogic.attacks.gradient import fgsm as gradient_fgsm
from newlogic.data import load_dataset
from newlogic.errors import UserError
from newlogic.evaluation.evaluate import run_attack_setting
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.stats import sample_std

DOCS = Path(__file__).resolve().parents[1] / "docs" / "results.md"
JSON_TYPES = {"integer": (int,), "number": (int, float), "string": (str,), "boolean": (bool,), "array": (list,),
              "object": (dict,), "null": (type(None),)}
NPZ_ARRAYS = ("index", "batch", "label", "clean_pred", "adv_pred", "clean_correct", "adv_correct", "l2", "linf", "l0",
              "clean_confidence", "adv_confidence")


def documented_fields(section: str) -> dict[str, tuple[type, ...]]:
    """``{field: allowed JSON types}`` from the table under the heading ``section`` of docs/results.md."""
    text = DOCS.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    fields = {}
    for names, kind in re.findall(r"^\| (`[^|]+`) \| ([a-z ]+) \|", text, flags=re.M):
        types = tuple(t for word in kind.split(" or ") for t in JSON_TYPES[word])
        for name in re.findall(r"`([^`]+)`", names):
            fields[name] = types
    return fields


def assert_valid_result(result: dict, path: Path) -> None:
    """The JSON has exactly the documented fields with their types; the ``.npz`` has one row per sample."""
    fields = documented_fields("Result JSON fields")
    assert set(result) == set(fields)
    for name, types in fields.items():
        value = result[name]
        assert isinstance(value, types) and (bool in types or not isinstance(value, bool)), (name, value)
    assert json.loads(path.read_text()) == result
    with np.load(path.with_suffix(".npz")) as samples:
        assert all(len(samples[name]) == result["sample_count"] for name in NPZ_ARRAYS)
        assert samples["adv_correct"].mean() == pytest.approx(result["adv_accuracy"])
    assert 0 <= result["adv_accuracy_ci95"][0] <= result["adv_accuracy"] <= result["adv_accuracy_ci95"][1] <= 1


def attack(model_dir: Path, out: Path, setting: dict, **options) -> dict:
    kwargs = {"data_dir": out.parent, "device": "cpu", "limit": 12, "batch_size": None, "seed": 0,
              "surrogate_dir": None, **options}
    return run_attack_setting(model_dir, setting, out, **kwargs)


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_attack_writes_a_valid_result(name: str, digits_model_dir: Path, tmp_path: Path,
                                            quick_settings: dict) -> None:
    out = tmp_path / f"{name}.json"
    limit = 3 if name in ("jsma", "spsa") else 12
    result = attack(digits_model_dir, out, {"attack": name, **quick_settings[name]}, limit=limit, batch_size=5,
                    surrogate_dir=digits_model_dir)
    assert_valid_result(result, out)
    assert (result["attack"], result["setting"], result["sample_count"], result["subset"]) == (name, name, limit, True)
    assert result["batch_size_used"] == 5 and len(result["batch_adv_accuracies"]) == -(-limit // 5)
    assert result["adv_accuracy"] <= result["clean_accuracy"]


def test_result_numbers_match_the_per_sample_arrays(digits_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "fgsm_0.1.json"
    result = attack(digits_model_dir, out, {"attack": "fgsm", "eps": 0.1}, limit=40, batch_size=16, seed=3)
    with np.load(out.with_suffix(".npz")) as npz:
        samples = dict(npz)
    test_size = result["test_size"]
    assert np.array_equal(samples["index"], torch.randperm(test_size, generator=torch.Generator().manual_seed(3))[:40])
    clean, adv = samples["clean_correct"], samples["adv_correct"]
    assert result["clean_accuracy"] == pytest.approx(clean.mean())
    assert result["attack_success_rate"] == pytest.approx((clean & ~adv).sum() / clean.sum())
    assert result["batch_adv_accuracies"] == pytest.approx([adv[:16].mean(), adv[16:32].mean(), adv[32:].mean()])
    assert result["linf_mean"] == pytest.approx(0.1, abs=1e-6)
    assert result["l2_median"] == pytest.approx(np.median(samples["l2"][clean & ~adv]))
    assert result["parameters"] == {"eps": 0.1, "attack_on": "scores", "batch_size": 100, "num_images": None,
                                    "threat_model": "pixels", "normalized_clip": 3.0}
    assert result["clean_rejection_rate"] is None and result["provenance"]["config_hash"]
    assert result["model_ref"]["name"] == "relu" and len(result["model_ref"]["weights_sha256"]) == 64


def test_a_complete_result_is_reused_and_a_changed_one_recomputed(digits_model_dir: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "fgsm.json"
    first = attack(digits_model_dir, out, {"attack": "fgsm"})
    monkeypatch.setattr("newlogic.evaluation.evaluate.evaluate_attack", lambda *a, **k: pytest.fail("recomputed"))
    assert attack(digits_model_dir, out, {"attack": "fgsm", "eps": 0.3}) == first
    monkeypatch.undo()
    assert attack(digits_model_dir, out, {"attack": "fgsm", "eps": 0.2})["parameters"]["eps"] == 0.2


def test_out_of_memory_halves_the_batch(digits_model_dir: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def hungry(target, x, y, attack, context):
        if len(x) > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return gradient_fgsm(target, x, y, attack, context)

    monkeypatch.setattr("newlogic.attacks.gradient.fgsm", hungry)
    with pytest.warns(UserWarning, match="out of GPU memory"):
        result = attack(digits_model_dir, tmp_path / "oom.json", {"attack": "fgsm"}, batch_size=12)
    assert (result["batch_size"], result["batch_size_used"], result["sample_count"]) == (12, 3, 12)
    assert len(result["batch_adv_accuracies"]) == 4


def test_sigmoid_models_report_rejection_and_can_be_attacked_through_probabilities(sigmoid_model_dir: Path,
                                                                                   tmp_path: Path) -> None:
    scores_result = attack(sigmoid_model_dir, tmp_path / "scores.json", {"attack": "bim"}, limit=30)
    probs_result = attack(sigmoid_model_dir, tmp_path / "probs.json", {"attack": "bim", "attack_on": "probs"}, limit=30)
    assert_valid_result(probs_result, tmp_path / "probs.json")
    assert (scores_result["attack_on"], probs_result["attack_on"]) == ("scores", "probs")
    assert scores_result["output"] == "sigmoid"
    model = load_trained_model(sigmoid_model_dir).model
    with np.load(tmp_path / "scores.npz") as samples:
        images = load_dataset("digits")[1].images[samples["index"]]
        with torch.no_grad():
            rejected = (model(images) < 0).all(dim=1).numpy()
        assert np.array_equal(samples["clean_rejected"], rejected)
        assert scores_result["clean_rejection_rate"] == pytest.approx(rejected.mean())
        assert scores_result["adv_rejection_rate"] == pytest.approx(samples["adv_rejected"].mean())


@pytest.mark.parametrize(("setting", "options", "message"), [
    ({"attack": "transfer"}, {}, "surrogate"),
    ({"attack": "fgsm"}, {"limit": 0}, "limit"),
    ({"attack": "fgsm", "eps": [1]}, {}, "eps"),
])
def test_bad_requests_are_user_errors(setting, options, message, digits_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=message):
        attack(digits_model_dir, tmp_path / "bad.json", setting, **options)
    assert not (tmp_path / "bad.json").exists()


def test_sample_std_known_values() -> None:
    assert sample_std([0.5, 0.7, 0.9]) == pytest.approx(0.2)
    assert sample_std([0.5]) is None
