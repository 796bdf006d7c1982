"""Training: one epoch per kind of model, the model directory, options, recipes, ramps, negatives."""

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from fake_datasets import write_fake_cifar10

from newlogic.data import Split, load_dataset
from newlogic.datasets import DATASET_INFO
from newlogic.errors import UserError
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.nn.models import ramp_state
from newlogic.spec import parse_model_name
from newlogic.training.loop import Run, evaluate_split, prepare_run, train_step, zero_sums
from newlogic.training.options import TrainOptions, resolve_options
from newlogic.training.recipes import recipe
from newlogic.training.run import log_line, run_training

DIGITS_TRAIN = 1437  # 80 % of scikit-learn's 1,797 digits
LOG_LINE = re.compile(
    r"^Epoch: (\d+) Train: Loss: \d+\.\d{4} \| Acc: \d+\.\d{2}% Test eval: Loss: \d+\.\d{4} \| Acc: \d+\.\d{2}%"
)


def train(out: Path, model: str, dataset: str = "digits", data_dir: Path = Path("data"), **training: Any) -> dict:
    return run_training(model, dataset, out, data_dir=data_dir, seed=0, device="cpu",
                        training={"epochs": 1, **training}, architecture={})


@pytest.mark.parametrize(
    ("model", "training", "flags"),
    [
        ("relu", {}, []),
        ("relog", {"relog_ramp_epochs": 1}, []),  # the ramp finishes within the epoch
        ("relog-maxout_4", {}, []),  # digits recipe: the ramps over a quarter of training
        ("relog-sigmoid_out-max_fit_l1-scrambling", {"negatives_start_epoch": 0, "regularization_start_epoch": 0,
                                                     "relog_ramp_epochs": 5}, ["relog_ramp_unfinished"]),
        ("relog-elliptical-maxout_4-bce-max_fit_l1-overlay",
         {"negatives_start_epoch": 0, "relog_ramp_epochs": 5, "curvature_ramp_epochs": 5},
         ["relog_ramp_unfinished", "curvature_ramp_unfinished"]),
    ],
)
def test_one_epoch_writes_a_complete_model_directory(tmp_path: Path, model: str, training: dict, flags: list) -> None:
    metrics = train(tmp_path, model, **training)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert [name for name in files if not name.startswith("events.out.tfevents.")] == [
        "config.json", "log.txt", "metrics.json", "model.pt"]
    assert len(files) == 5  # and one TensorBoard event file (tests/test_curves.py reads it)
    record = json.loads((tmp_path / "config.json").read_text())
    assert record["schema_version"] == 1 and record["dataset"] == "digits" and record["seed"] == 0
    assert record["model"]["name"] == parse_model_name(model).name
    assert record["training"]["epochs"] == 1 and record["training"]["augment"] == "mnist"
    assert record["provenance"]["config_hash"] == metrics["provenance"]["config_hash"]
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    (line,) = (tmp_path / "log.txt").read_text().splitlines()
    assert LOG_LINE.match(line) and line.startswith("Epoch: 0 ")
    final = metrics["final"]
    assert metrics["epochs"] == [final]
    for key in ("train_accuracy", "test_accuracy", "test_rejected"):
        assert 0.0 <= final[key] <= 1.0
    if "sigmoid_out" not in model and "bce" not in model:  # negatives from epoch 0 make sigmoid models start slow
        assert final["test_accuracy"] > 0.2  # better than chance (0.1) after one epoch
    assert metrics["flags"] == flags
    assert "clipped_fraction" not in final
    assert math.isfinite(final["train_loss"]) and math.isfinite(final["test_loss"])
    trained = load_trained_model(tmp_path, "cpu")
    weights = torch.load(tmp_path / "model.pt", weights_only=True)
    assert all(torch.equal(value, weights[key]) for key, value in trained.model.state_dict().items())
    test_again = evaluate_split(trained.model, _digits_test(), trained.spec, 1000)
    assert test_again["accuracy"] == pytest.approx(final["test_accuracy"])


def _digits_test() -> Split:
    return load_dataset("digits")[1]


def test_relog_ramp_in_epochs_is_recorded_and_flagged_when_unfinished(tmp_path: Path) -> None:
    metrics = train(tmp_path, "relog", relog_ramp_epochs=2, augment="none")
    assert metrics["final"]["relog_strength"] == pytest.approx(0.5, abs=1e-6)
    assert metrics["flags"] == ["relog_ramp_unfinished"]
    record = json.loads((tmp_path / "config.json").read_text())
    steps = math.ceil(DIGITS_TRAIN / 64)
    assert record["training"]["relog_ramp_epochs"] == 2.0
    assert record["architecture"]["relog_step"] == pytest.approx(1 / (2 * steps))


def _run(model: str, **training: Any) -> Run:
    return prepare_run(model, "digits", data_dir=Path("data"), seed=0, device="cpu",
                       training={"augment": "none", **training}, architecture={})


def _batch(run: Run, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    return run.train.images[:size], run.train.labels[:size]


def test_per_step_ramp_when_the_config_gives_a_step() -> None:
    config, options = resolve_options("digits", {}, {"relog_step": 0.01}, DIGITS_TRAIN)
    assert config.relog_ramp_epochs is None and config.relog_ramp_fraction is None and options.relog_step == 0.01
    assert config.curvature_ramp_fraction == 0.25  # the other ramp keeps the recipe's form
    run = prepare_run("relog", "digits", data_dir=Path("data"), seed=0, device="cpu", training={"augment": "none"},
                      architecture={"relog_step": 0.001})
    sums = zero_sums(run.device)
    for _ in range(3):
        train_step(run, *_batch(run), 0, sums)
    assert ramp_state(run.model)["relog_strength"] == pytest.approx(0.003)


def test_a_ramp_given_in_two_forms_is_a_user_error() -> None:
    with pytest.raises(UserError, match="relog ramp is given as both relog_ramp_epochs and relog_step"):
        resolve_options("digits", {"relog_ramp_epochs": 2}, {"relog_step": 0.01}, DIGITS_TRAIN)
    with pytest.raises(UserError, match=r"relog_ramp_fraction must be in \(0, 1\], got 1.5"):
        resolve_options("digits", {"relog_ramp_fraction": 1.5}, {}, DIGITS_TRAIN)


def test_a_ramp_as_a_fraction_follows_the_data_size() -> None:
    for size in (4000, 60000):
        config, options = resolve_options("mnist5k", {"epochs": 8}, {}, size)
        steps = math.ceil(size / 64) * 8
        assert options.relog_step == pytest.approx(1 / (0.05 * steps))
        assert options.curvature_step == pytest.approx(1 / (0.05 * steps))
    config, options = resolve_options("mnist", {}, {}, 60000)  # the journal's 1e-3 per step, up to rounding
    assert options.relog_step == pytest.approx(1e-3, rel=0.07)


def test_digits_recipe_ramps_finish_in_a_quarter_of_the_epochs() -> None:
    config, options = resolve_options("digits", {}, {}, DIGITS_TRAIN)
    steps = math.ceil(DIGITS_TRAIN / config.batch_size)
    assert config.relog_ramp_fraction == config.curvature_ramp_fraction == 0.25
    assert config.relog_ramp_epochs is None
    assert options.relog_step * steps * config.epochs == pytest.approx(4.0)
    assert options.curvature_step * steps * config.epochs == pytest.approx(4.0)


def test_recipes_follow_the_spec() -> None:
    mnist, cifar = recipe("mnist"), recipe("cifar10")
    assert mnist.training == {"epochs": 20, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "amsgrad": True,
                              "augment": "mnist", "regularization_start_epoch": 2,
                              "relog_ramp_fraction": 0.05, "curvature_ramp_fraction": 0.05}
    assert mnist.architecture == {} and recipe("mnist5k") == mnist
    assert cifar.training["optimizer"] == "sgd" and cifar.training["lr"] == 0.01 and cifar.training["momentum"] == 0
    assert cifar.training["batch_size"] == 128 and cifar.training["epochs"] == 40
    assert cifar.training["regularization_start_epoch"] == 10 and cifar.training["augment"] == "cifar10"
    assert cifar.architecture == {"arch": "vgg16", "batchnorm": True, "bn_momentum": 0.01,
                                  "modification_start_layer": 12}
    assert cifar.training["relog_ramp_fraction"] == 0.064 and cifar.training["curvature_ramp_fraction"] == 0.64
    assert {k: v for k, v in recipe("digits").training.items() if not k.endswith("ramp_fraction")} == \
        {k: v for k, v in mnist.training.items() if not k.endswith("ramp_fraction")}
    assert TrainOptions().grad_clip is None  # journal: clipping off
    with pytest.raises(UserError, match="valid: " + ", ".join(DATASET_INFO)):
        recipe("imagenet")


@pytest.mark.parametrize(
    ("training", "architecture", "message"),
    [
        ({"bogus": 1}, {}, "unknown key.*bogus.*valid keys: epochs"),
        ({}, {"widht": 2}, "unknown key.*widht"),
        ({"optimizer": "rmsprop"}, {}, "training.optimizer 'rmsprop'; valid: adam, sgd"),
        ({"schedule": "linear"}, {}, "valid: none, cosine, step, exponential"),
        ({"augment": "cifar"}, {}, "valid: none, mnist, cifar10"),
        ({"init": "xavier"}, {}, "valid: kaiming, dynamic"),
        ({"lr": -1}, {}, "training.lr must be > 0"),
        ({"epochs": 0}, {}, "training.epochs must be > 0"),
        ({"negatives_ratio": -0.5}, {}, "training.negatives_ratio must be >= 0"),
        ({"lr": "fast"}, {}, "training.lr must be float"),
    ],
)
def test_bad_options_are_user_errors(tmp_path: Path, training: dict, architecture: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        run_training("relu", "digits", tmp_path, data_dir=Path("data"), seed=0, device="cpu",
                     training=training, architecture=architecture)
    assert not tmp_path.joinpath("config.json").exists()


def test_bad_model_name_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="nonsense_3"):
        train(tmp_path, "relog-nonsense_3")


def test_finished_directory_is_left_alone_and_another_config_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = train(tmp_path, "relu", augment="none")
    stamp = (tmp_path / "metrics.json").stat().st_mtime_ns
    assert train(tmp_path, "relu", augment="none") == first
    assert "already trained" in capsys.readouterr().err
    assert (tmp_path / "metrics.json").stat().st_mtime_ns == stamp
    with pytest.raises(UserError, match="different config"):
        train(tmp_path, "relu", augment="none", lr=0.01)


def test_gradient_clipping_is_counted(tmp_path: Path) -> None:
    metrics = train(tmp_path, "relu", augment="none", grad_clip=1e-6)
    assert metrics["final"]["clipped_fraction"] == 1.0
    assert (tmp_path / "log.txt").read_text().rstrip().endswith("Clipped: 100.0%")


def test_negatives_and_regulariser_start_at_their_epochs() -> None:
    run = _run("relu-sigmoid_out-max_fit_l1-overlay", negatives_start_epoch=1, regularization_start_epoch=2,
               negatives_ratio=0.5)
    counts: list[int] = []
    sampler = run.negatives

    def spy(images: torch.Tensor, labels: torch.Tensor, count: int, host: torch.Generator,
            device: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        counts.append(count)
        return sampler(images, labels, count, host, device)

    run.negatives = spy
    regularization = []
    for epoch in range(3):
        sums = zero_sums(run.device)
        train_step(run, *_batch(run, 40), epoch, sums)
        regularization.append(sums["regularization"].item())
    assert counts == [20, 20]  # epochs 1 and 2, half of the batch of 40
    assert regularization[0] == regularization[1] == 0.0 and regularization[2] != 0.0


def test_seed_decides_the_weights() -> None:
    def weights(seed: int) -> torch.Tensor:
        run = prepare_run("relu", "digits", data_dir=Path("data"), seed=seed, device="cpu",
                          training={"augment": "mnist"}, architecture={})
        train_step(run, *_batch(run), 0, zero_sums(run.device))
        return torch.cat([p.detach().flatten() for p in run.model.parameters()])

    assert torch.equal(weights(1), weights(1))
    assert not torch.equal(weights(1), weights(2))


def test_evaluate_split_by_hand() -> None:
    model = torch.nn.Flatten()  # scores = the two pixels
    images = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0], [-1.0, -2.0]]).reshape(4, 1, 1, 2)
    split = Split(images, torch.tensor([0, 0, 0, 1]))
    result = evaluate_split(model, split, parse_model_name("relu-sigmoid_out"), batch_size=3)
    assert result["accuracy"] == pytest.approx(2 / 4)
    assert result["rejected"] == pytest.approx(1 / 4)
    sig = torch.sigmoid
    expected = [((sig(torch.tensor(s)) - torch.tensor(t)) ** 2).mean().item()
                for s, t in [([1.0, 0.0], [1.0, 0.0]), ([0.0, 2.0], [1.0, 0.0]), ([3.0, 1.0], [1.0, 0.0]),
                             ([-1.0, -2.0], [0.0, 1.0])]]
    assert result["loss"] == pytest.approx(sum(expected) / 4)


def test_log_line_format() -> None:
    metrics = {"epoch": 3, "train_loss": 0.12344, "train_accuracy": 0.96524, "test_loss": 0.1311,
               "test_accuracy": 0.9611, "relog_strength": 0.46, "curvature": None}
    assert log_line(metrics) == (
        "Epoch: 3 Train: Loss: 0.1234 | Acc: 96.52% Test eval: Loss: 0.1311 | Acc: 96.11% ReLog s: 0.4600"
    )


def test_cifar10_recipe_trains_vgg16_with_batchnorm(tmp_path: Path) -> None:
    write_fake_cifar10(tmp_path / "data", n_train=32, n_test=16)
    metrics = run_training("relog-maxout_4", "cifar10", tmp_path / "model", data_dir=tmp_path / "data", seed=0,
                           device="cpu", training={"epochs": 1, "batch_size": 16},
                           architecture={"arch": "vgg11"})
    record = json.loads((tmp_path / "model" / "config.json").read_text())
    assert record["architecture"]["batchnorm"] is True and record["architecture"]["modification_start_layer"] == 12
    assert record["training"]["optimizer"] == "sgd" and record["training"]["augment"] == "cifar10"
    assert 0.0 <= metrics["final"]["test_accuracy"] <= 1.0
