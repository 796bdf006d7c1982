"""The loss-landscape checks (issue 32): each flags the constructed model it exists to catch and passes a plain one.

- ``landscape_gradients``: the digits ReLU network behind an 8-bit input rounding (``torch.round``'s
  backward is zero: no exact gradient anywhere on the path);
- ``landscape_reaches_zero``: the same network with a bounded, saturated output ``softmax(1000·s)``
  (one-hot in float32: the margin's gradient is 0, so even at ε = 0.5 the attack stays where it
  started);
- ``landscape_converged``: the plain network attacked with 1, 2 and 4 steps of ε/10 (too few to
  converge: 4 steps leave significantly less than 2);
- all three pass on the plain network at a converging budget.

Then the files: the runner writes ``landscape.json`` beside ``checks.json`` (kept when its request is
the same) and the checks read it; the verified collector recomputes them from it and refuses an
edited or foreign one.
"""

import json
from pathlib import Path

import pytest
import torch
from result_fixtures import fake_model_dir, fake_noise, fake_setting_result
from torch import nn

from newlogic.data import load_dataset
from newlogic.errors import UserError
from newlogic.evaluation.landscape import LandscapeOptions, landscape_options, measure_landscape
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.evaluation.target import attack_target
from newlogic.report import check_rules as rules
from newlogic.report.checks import LANDSCAPE_CHECKS, _landscape_statuses, write_checks
from newlogic.report.collect import collect_ablation
from newlogic.report.vocabulary import FLAGGED, INCONCLUSIVE, LANDSCAPE, MASKING_SUSPECTED, PASSED
from newlogic.runner import evaluate_model
from newlogic.store import paths
from newlogic.store.results import LANDSCAPE_FILE

EPS = 0.1
IMAGES = 60  # ≥ MIN_SAMPLES images left after the clean misclassifications
CONVERGING = LandscapeOptions(n_images=IMAGES, eps=EPS, steps=20, multiples=(1, 2, 4), eps_sweep=(0.1, 0.5))
LEVELS = 255
SATURATION = 1000.0


class InputRounding(nn.Module):
    """``model(round(255·x)/255)``: the same predictions to within a rounding, and a zero input gradient."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(torch.round(x * LEVELS) / LEVELS)


class SaturatedOutput(nn.Module):
    """``softmax(1000·model(x))``: bounded in [0, 1], the same argmax, one-hot in float32 (zero gradient)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(SATURATION * self.model(x), dim=1)


@pytest.fixture(scope="module")
def plain(digits_model_dir: Path) -> nn.Module:
    trained = load_trained_model(digits_model_dir)
    trained.model.requires_grad_(False)
    return trained.model


@pytest.fixture(scope="module")
def images(digits_model_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    _, test = load_dataset("digits", digits_model_dir.parent)
    return test.images[:IMAGES], test.labels[:IMAGES]


def _statuses(model: nn.Module, images: tuple[torch.Tensor, torch.Tensor],
              options: LandscapeOptions = CONVERGING) -> dict[str, str]:
    landscape = measure_landscape(attack_target(model, "softmax", "scores"), *images, options, eps=EPS,
                                  dataset="digits", num_classes=10, seed=0)
    statuses, flags = _landscape_statuses(landscape)
    assert all(flag["severity"] == "masking suspected" for flag in flags)
    return {status["check"]: status["status"] for status in statuses}


def test_a_plain_relu_model_passes_every_landscape_check(plain: nn.Module, images) -> None:
    assert _statuses(plain, images) == {"landscape_converged": PASSED, "landscape_reaches_zero": PASSED,
                                        "landscape_gradients": PASSED}


def test_input_rounding_is_flagged_by_the_gradients_check(plain: nn.Module, images) -> None:
    assert _statuses(InputRounding(plain), images)["landscape_gradients"] == FLAGGED


def test_a_bounded_saturated_output_never_reaching_zero_is_flagged_by_the_eps_check(plain: nn.Module,
                                                                                     images) -> None:
    assert _statuses(SaturatedOutput(plain), images)["landscape_reaches_zero"] == FLAGGED


def test_too_few_steps_are_flagged_by_the_convergence_check(plain: nn.Module, images) -> None:
    few = LandscapeOptions(n_images=IMAGES, eps=0.2, steps=1, multiples=(1, 2, 4), eps_sweep=(0.5,))
    landscape = measure_landscape(attack_target(plain, "softmax", "scores"), *images, few, eps=0.2,
                                  dataset="digits", num_classes=10, seed=0)
    assert landscape["iterations"]["steps"] == [1, 2, 4]
    outcome = rules.check_landscape_converged(landscape)
    assert outcome.flags and "4 steps" in outcome.flags[0].message


def test_too_few_images_read_inconclusive(plain: nn.Module, images) -> None:
    few = LandscapeOptions(n_images=10, eps=EPS, steps=5, multiples=(1, 2), eps_sweep=(0.5,))
    x, y = images
    assert set(_statuses(plain, (x[:10], y[:10]), few).values()) == {INCONCLUSIVE}


@pytest.mark.parametrize(("block", "named"), [({"multiples": [2]}, "multiples"), ({"eps_sweep": [0.1, 0.3]}, "0.5"),
                                              ({"n_images": 0}, "n_images"), ({"images": 5}, "images")])
def test_a_bad_landscape_block_is_one_line_naming_it(block: dict, named: str) -> None:
    with pytest.raises(UserError, match=named):
        landscape_options(block)


def test_the_runner_writes_the_landscape_beside_checks_and_keeps_it(digits_model_dir: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {"fgsm_0.1": {"attack": "fgsm", "eps": 0.1, "limit": 30}}
    block = {"n_images": 40, "steps": 5, "multiples": [1, 2], "eps_sweep": [0.5]}
    options = {"out_dir": tmp_path, "seed": 0, "data_dir": digits_model_dir.parent, "device": "cpu",
               "checks_out": tmp_path / "checks.json", "landscape": block}
    outputs = evaluate_model(digits_model_dir, settings, **options)
    landscape = json.loads(outputs["landscape"].read_text())
    assert outputs["landscape"] == tmp_path / LANDSCAPE_FILE
    assert landscape["iterations"]["eps"] == 0.1 and landscape["iterations"]["steps"] == [5, 10]
    assert len(landscape["index"]) == landscape["n_images"] == len(landscape["eps_sweep"]["correct"][0])
    report = json.loads(outputs["checks"].read_text())
    assert report["landscape"] == LANDSCAPE_FILE and report["results"] == ["fgsm_0.1"]
    assert [s["check"] for s in report["checks"]][-3:] == list(LANDSCAPE_CHECKS)
    monkeypatch.setattr("newlogic.runner.write_landscape", lambda *a, **k: pytest.fail("landscape recomputed"))
    evaluate_model(digits_model_dir, settings, **options)
    without = evaluate_model(digits_model_dir, settings, **{**options, "landscape": None})
    assert "landscape" not in without and "landscape" not in json.loads(without["checks"].read_text())


ATTACKS = {"fgsm_0.1": {"attack": "fgsm", "eps": 0.1}}
CONFIG = {"dataset": "digits", "seeds": [0], "attacks": ATTACKS,
          "ablations": {"demo": {"models": [{"name": "relu", "label": "Baseline"}]}}}
N = 40


def _fake_landscape(reference: dict, last_steps: list[int]) -> dict:
    """A ``landscape.json`` of ``N`` images: every image fooled at 1× and at ε 0.5, ``last_steps`` at 2×."""
    def sweep(rows: list[list[int]]) -> dict:
        return {"correct": rows, "accuracy": [sum(row) / N for row in rows]}
    return {"schema_version": 1, "n_images": N, "index": list(range(N)), "model_ref": dict(reference),
            "attack": {"attack": "adaptive", "preset": "strong", "norm": "linf", "restarts": 1, "loss": "margin",
                       "temperature": 1.0, "final_temperature": 0.01},
            "iterations": {"eps": 0.1, "steps": [10, 20], **sweep([[1] * N, last_steps])},
            "eps_sweep": {"steps": 10, "eps": [0.5], **sweep([[0] * N])},
            "gradients": {"eps": 0.1, "steps": 10, "near_zero": 1e-3, "path_steps": [10] * N, "blind_steps": [0] * N,
                          "masked_steps": [0] * N, "blind_step_fraction": 0.0, "exact_norm_mean": [1.0],
                          "surrogate_norm_mean": [1.0]}}


@pytest.fixture
def collected_run(tmp_path: Path) -> tuple[Path, Path]:
    """One run of ``CONFIG`` whose checks read a ``landscape.json`` that passes (its checks.json, landscape.json)."""
    root = tmp_path / "results"
    reference = fake_model_dir(root, "relu", 0)
    written = [fake_setting_result(root, reference, "fgsm_0.1", ATTACKS["fgsm_0.1"], [1, 0] * 20)]
    fake_noise(root, reference)
    checks_path = paths.checks_json(root, "digits", "relu", 0)
    landscape_path = checks_path.with_name(LANDSCAPE_FILE)
    landscape_path.write_text(json.dumps(_fake_landscape(reference, [1] * N)))
    write_checks(written, checks_path, json.loads(landscape_path.read_text()))
    return checks_path, landscape_path


def test_the_collector_recomputes_the_landscape_checks(collected_run: tuple[Path, Path]) -> None:
    checks_path, _ = collected_run
    run = collect_ablation(CONFIG, "demo", checks_path.parents[4]).model("relu").runs[0]
    assert run.checks is not None
    assert {s["check"]: s["status"] for s in run.checks["checks"] if s["check"] in LANDSCAPE_CHECKS} == \
        dict.fromkeys(LANDSCAPE_CHECKS, PASSED)


def test_a_landscape_that_flags_makes_the_model_masking_suspected(tmp_path: Path) -> None:
    root = tmp_path / "results"
    reference = fake_model_dir(root, "relu", 0)
    written = [fake_setting_result(root, reference, "fgsm_0.1", ATTACKS["fgsm_0.1"], [1, 0] * 20)]
    report = write_checks(written, tmp_path / "checks.json", _fake_landscape(reference, [0] * N))
    flag, = report["flags"]
    assert flag["check"] == "landscape_converged" and flag["suspect"] == LANDSCAPE
    assert report["verdict"] == MASKING_SUSPECTED and "20 steps" in flag["message"]


@pytest.mark.parametrize(("edit", "said"), [
    (lambda data: data["iterations"].update(correct=[[1] * N, [0] * N], accuracy=[1.0, 0.0]),
     "the checks give"),  # a consistent file whose checks.json no longer matches it
    (lambda data: data["iterations"]["accuracy"].__setitem__(1, 0.5), "mean of its images"),
    (lambda data: data["model_ref"].__setitem__("weights_sha256", "0" * 64), "model_ref"),
    (lambda data: data["gradients"]["blind_steps"].__setitem__(0, 11), "blind ≤ path"),
    (lambda data: data["eps_sweep"].__setitem__("correct", [[2] * N]), "0/1 list"),
    (lambda data: data["attack"].pop("loss"), "attack"),
])
def test_an_edited_or_foreign_landscape_is_refused(collected_run: tuple[Path, Path], edit, said: str) -> None:
    checks_path, landscape_path = collected_run
    data = json.loads(landscape_path.read_text())
    edit(data)
    landscape_path.write_text(json.dumps(data))
    with pytest.raises(UserError, match=said):
        collect_ablation(CONFIG, "demo", checks_path.parents[4])


def test_a_missing_landscape_is_listed_missing(collected_run: tuple[Path, Path]) -> None:
    checks_path, landscape_path = collected_run
    landscape_path.unlink()
    collected = collect_ablation(CONFIG, "demo", checks_path.parents[4])
    assert collected.model("relu").runs[0].checks is None
    assert any(path == landscape_path for path, _ in collected.missing)
