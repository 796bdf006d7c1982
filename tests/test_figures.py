"""Figures (newlogic.figures): the numbers behind them, and every figure written as PNG and PDF on a digits model."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from result_fixtures import fake_result

from newlogic.data import dataset_info, load_dataset
from newlogic.errors import UserError
from newlogic.evaluation.depth import run_depth_experiment
from newlogic.evaluation.evaluate import run_attack_setting
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.evaluation.noise import evaluate_noise_rejection
from newlogic.figure_catalog import MODEL, figure_names
from newlogic.figures import (
    make_ablation_figures,
    make_depth_figure,
    make_model_figures,
    model_figure_files,
)
from newlogic.figures.accuracy import TABLE_LABEL, accuracy_curves, family_title, plot_accuracy_vs_eps
from newlogic.figures.common import first_conv, module_io
from newlogic.figures.confidence import adversarial_confidence, plot_confidence
from newlogic.figures.files import save_figure
from newlogic.figures.gallery import craft_gallery, plot_gallery
from newlogic.figures.interpolation import interpolation_path
from newlogic.figures.patches import cluster_patches, top_patches
from newlogic.figures.robustness import plot_robustness_curves
from newlogic.figures.weights import plot_conv1_weights, scale_weights
from newlogic.nn.models import ArchOptions, build_model
from newlogic.report.checks import write_checks
from newlogic.report.collect import collect_ablation
from newlogic.spec import parse_model_name
from newlogic.store import paths as store_paths
from newlogic.store.results import sha256_file
from newlogic.training.run import run_training

DATA = Path("data")


def RESULTS_OF(model_dir: Path) -> Path:  # noqa: N802 - reads as the results folder a model directory lies in
    """The results folder of a model directory ``{results}/models/{dataset}/{model}/seed{seed}``."""
    return model_dir.parents[3]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_FIGURE_WIDTH = 4000  # pixels: no figure is wider


def png_width(path: Path) -> int:
    """A PNG's width in pixels: the first field of its IHDR chunk (bytes 16–19, big-endian)."""
    return int.from_bytes(path.read_bytes()[16:20], "big")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ReLU digits model after one epoch without augmentation (≈ 90 % test accuracy), in a results folder."""
    out = store_paths.model_dir(tmp_path_factory.mktemp("results"), "digits", "relu", 0)
    run_training("relu", "digits", out, data_dir=DATA, seed=0, device="cpu",
                 training={"epochs": 1, "augment": "none"}, architecture={})
    return out


@pytest.fixture(scope="module")
def results(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """FGSM at ε 0.1 and 0.3 on 40 test images of that model, in its results folder."""
    paths = []
    for eps in (0.1, 0.3):
        path = store_paths.result_json(RESULTS_OF(model_dir), "digits", "relu", 0, f"fgsm_{eps}")
        run_attack_setting(model_dir, {"attack": "fgsm", "eps": eps}, path, data_dir=DATA, device="cpu", limit=40,
                           batch_size=None, seed=0, surrogate_dir=None)
        paths.append(path)
    return paths


def assert_figure_files(paths: list[Path]) -> None:
    """Every path exists, is non-empty, PNGs are PNGs and PDFs are PDFs; no temporary file is left beside them."""
    for path in paths:
        head = path.read_bytes()[:8]
        assert path.stat().st_size > 1000, path
        assert head == PNG_MAGIC if path.suffix == ".png" else head.startswith(b"%PDF"), path
        assert path.suffix != ".png" or png_width(path) <= MAX_FIGURE_WIDTH, (path, png_width(path))
        assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


# conv1 weights scaled into [-1, 1]


def test_scale_weights_by_hand() -> None:
    weight = torch.tensor([[[[1.0, -2.0], [0.0, 0.5]]], [[[0.0, 0.0], [0.0, 0.0]]], [[[-4.0, 2.0], [1.0, 0.0]]]])
    per_neuron = scale_weights(weight, "neuron")
    assert torch.equal(per_neuron[0, 0], torch.tensor([[0.5, -1.0], [0.0, 0.25]]))
    assert torch.equal(per_neuron[1], torch.zeros(1, 2, 2))  # an all-zero neuron stays zero
    assert torch.equal(per_neuron[2, 0], torch.tensor([[-1.0, 0.5], [0.25, 0.0]]))
    assert torch.equal(scale_weights(weight, "global"), weight / 4)
    with pytest.raises(UserError, match="scope"):
        scale_weights(weight, "layer")


def test_scaled_conv1_weights_of_a_trained_model(model_dir: Path) -> None:
    weight = first_conv(load_trained_model(model_dir).model).weight.detach()
    weight[3] = 0.0
    weight[5, 0, 2, 2] = 0.0
    scaled = scale_weights(weight)
    assert float(scaled.abs().max()) == 1.0 and float(scaled.min()) >= -1.0
    assert torch.equal(scaled.flatten(1).abs().amax(dim=1)[[0, 1, 2, 4]], torch.ones(4))  # max |value| 1 per neuron
    assert torch.equal(torch.sign(scaled), torch.sign(weight))  # signs kept, zero stays zero
    assert torch.allclose(scaled * weight.flatten(1).abs().amax(dim=1).clamp(min=1e-30)[:, None, None, None], weight)


# top patches and their clusters


def test_top_patches_are_the_top_one_percent(model_dir: Path) -> None:
    model = load_trained_model(model_dir).model
    images = load_dataset("digits", DATA)[0].images[:300]
    conv = first_conv(model)
    top = top_patches(model, images, channel=7, batch_size=64)
    inputs, outputs = module_io(model, conv, images)
    everything = outputs[:, 7].flatten()
    keep = math.ceil(0.01 * len(everything))
    assert top.positions == 300 * 28 * 28 and len(top.responses) == len(top.patches) == keep == 2352
    assert torch.equal(top.responses, everything.topk(keep).values)  # the K largest responses, descending
    recomputed = (top.patches * conv.weight[7]).sum(dim=(1, 2, 3)) + conv.bias[7]
    assert torch.allclose(recomputed, top.responses, atol=1e-5)  # each patch is the one under its response
    columns = F.unfold(inputs, 5, padding=2).transpose(1, 2).reshape(-1, 25)
    assert torch.equal(top.patches[0].flatten(), columns[everything.argmax()])


def test_kmeans_finds_separated_patterns() -> None:
    generator = torch.Generator().manual_seed(0)
    levels, sizes = (0.9, 0.1, 0.5), (50, 30, 20)
    patches = torch.cat([level + 0.01 * torch.randn(size, 1, 3, 3, generator=generator)
                         for level, size in zip(levels, sizes, strict=True)])
    clusters = cluster_patches(patches, 3)
    assert clusters.sizes.tolist() == [50, 30, 20]  # largest first
    assert clusters.labels.tolist() == [0] * 50 + [1] * 30 + [2] * 20
    assert torch.allclose(clusters.centers.flatten(1).mean(dim=1), torch.tensor(levels), atol=0.01)
    with pytest.raises(UserError, match="cluster"):
        cluster_patches(patches, 101)


def test_kmeans_on_top_patches_returns_the_asked_clusters(model_dir: Path) -> None:
    model = load_trained_model(model_dir).model
    top = top_patches(model, load_dataset("digits", DATA)[0].images[:200], channel=0)
    clusters = cluster_patches(top.patches, 4, seed=1)
    assert clusters.centers.shape == (4, 1, 5, 5) and int(clusters.sizes.sum()) == len(top.patches)
    assert set(clusters.labels.tolist()) == {0, 1, 2, 3} and clusters.sizes.tolist() == sorted(clusters.sizes.tolist(),
                                                                                              reverse=True)
    for cluster in range(4):  # a centre is the mean of its members
        assert torch.allclose(clusters.centers[cluster], top.patches[clusters.labels == cluster].mean(dim=0),
                              atol=1e-5)
    with pytest.raises(UserError, match="channel"):
        top_patches(model, top.patches, channel=16)


# accuracy versus eps


def _result(model: str, eps: float | None, adv: float, clean: float, attack: str = "fgsm",
            preset: str = "paper") -> dict:
    return {"complete": True, "model": model, "attack": attack, "preset": preset, "attack_on": "scores",
            "norm": "linf", "eps": eps, "adv_accuracy": adv, "clean_accuracy": clean}


def test_accuracy_curves_average_seeds_by_eps() -> None:
    results = [
        _result("relog", 0.3, 0.2, 1.0), _result("relu", 0.1, 0.8, 0.9), _result("relu", 0.1, 0.6, 1.0),
        _result("relu", 0.3, 0.1, 0.9), _result("relu", None, 0.0, 0.9, attack="cw_l2"),
        _result("relu", 0.3, 0.4, 0.9, preset="strong"),
    ]
    curves = accuracy_curves(results)
    assert list(curves) == [("fgsm", "paper", "scores"), ("fgsm", "strong", "scores")]  # cw_l2 has no eps
    assert list(curves["fgsm", "paper", "scores"]) == ["relog", "relu"]  # order of first appearance
    relu = curves["fgsm", "paper", "scores"]["relu"]
    assert relu.eps.tolist() == [0.0, 0.1, 0.3] and relu.runs.tolist() == [3, 2, 1]
    assert np.allclose(relu.mean, [2.8 / 3, 0.7, 0.1]) and np.allclose(relu.std[1:], [math.sqrt(0.02), 0.0])
    assert curves["fgsm", "strong", "scores"]["relu"].mean.tolist() == [0.9, 0.4]
    with pytest.raises(UserError, match="eps"):
        plot_accuracy_vs_eps([_result("relu", None, 0.0, 0.9, attack="cw_l2")])


def test_panel_titles_are_the_tables_labels_without_their_eps() -> None:
    results = [{**_result("relu", 0.1, 0.8, 0.9), TABLE_LABEL: "FGM-L∞ ε=0.1"},
               {**_result("relu", 0.3, 0.1, 0.9), TABLE_LABEL: "FGM-L∞ ε=0.3"},
               {**_result("relu", 0.3, 0.4, 0.9, preset="strong"), TABLE_LABEL: "PGD ε=0.3 (strong)"}]
    figure = plot_accuracy_vs_eps(results)
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == ["FGM-L∞", "PGD (strong)"]
    assert family_title(("fgsm", "paper", "scores"), [_result("relu", 0.1, 0.8, 0.9)], "linf") == "fgsm (L∞)"


def test_a_confidence_panel_names_its_setting_and_its_threat_as_the_tables_do(tmp_path: Path) -> None:
    bounded = fake_result(tmp_path / "suite_adaptive_linf_0.3_x2.json", [0, 1], attack="adaptive", eps=0.3,
                          confidence=[0.25, 0.75])
    free = fake_result(tmp_path / "cw_l2.json", [0, 0], attack="cw_l2", eps=None, norm="l2", confidence=[0.5, 0.5])
    name, values = adversarial_confidence(bounded)
    assert name == "suite_adaptive_linf_0.3_x2 · L∞ ε=0.3" and values.tolist() == [0.25, 0.75]
    assert adversarial_confidence(free)[0] == "cw_l2 · L2, no ε"


def test_no_figure_kind_is_wider_than_the_limit_on_many_panels(tmp_path: Path) -> None:
    """24 confidence histograms (once 11,267 px in one row), 12 attack panels, 3 threat models: each ≤ 4,000 px."""
    rng = np.random.default_rng(0)
    confidence = plot_confidence({f"set {index}": rng.random(50) for index in range(24)}, "softmax")
    accuracy = plot_accuracy_vs_eps([_result("relu", eps, 0.5, 0.9, attack=f"attack{index}")
                                     for index in range(12) for eps in (0.1, 0.3)])
    summary = {"models": [{"name": "relu", "label": "Baseline", "attacks": [], "robust_acc": [
        {"threat_model": threat, "eps": eps, "pooled": {"accuracy": 0.5, "interval": [0.4, 0.6]}}
        for threat in ("Linf", "L2", "L0") for eps in (0.1, 0.3)]}]}
    for name, figure in (("confidence", confidence), ("accuracy", accuracy),
                         ("robustness", plot_robustness_curves(summary))):
        paths = save_figure(figure, tmp_path, name)
        assert_figure_files(paths)
        assert png_width(paths[0]) > 500, name


ABLATION = {"dataset": "digits", "seeds": [0], "attacks": {f"fgsm_{eps}": {"attack": "fgsm", "eps": eps, "limit": 40}
                                                           for eps in (0.1, 0.3)},
            "ablations": {"demo": {"models": [{"name": "relu", "label": "Baseline"}]}}}


def test_ablation_figures_from_the_files_as_written_verified(model_dir: Path, results: list[Path],
                                                              tmp_path: Path) -> None:
    """Training, the attacks, the noise and the checks write files the verified collector accepts."""
    root = RESULTS_OF(model_dir)
    evaluate_noise_rejection(model_dir, store_paths.noise_json(root, "digits", "relu", 0), data_dir=DATA,
                             device="cpu", n_samples=20)
    write_checks(results, store_paths.checks_json(root, "digits", "relu", 0))
    collected = collect_ablation(ABLATION, "demo", root)
    run = collected.model("relu").runs[0]
    assert collected.missing == () and set(run.results) == {"fgsm_0.1", "fgsm_0.3"}
    assert run.reference["weights_sha256"] == sha256_file(model_dir / "model.pt") == run.record["weights_sha256"]
    assert run.metrics["model_ref"] == run.reference and run.noise is not None and run.checks is not None
    paths = make_ablation_figures(collected, tmp_path)
    assert [path.name for path in paths] == ["accuracy_vs_eps.png", "accuracy_vs_eps.pdf",
                                             "training_curves.png", "training_curves.pdf"]
    assert_figure_files(paths)
    first = json.loads(results[0].read_text())
    assert first["eps"] == 0.1 and first["attack"] == "fgsm"  # the fields the figure reads


# the other figures


def test_depth_figure(tmp_path: Path) -> None:
    depth = tmp_path / "depth.json"
    run_depth_experiment(layers=40, width=64, seed=0, out=depth)
    paths = make_depth_figure(depth, tmp_path / "figures")
    assert paths == [tmp_path / "figures" / "depth_propagation.png", tmp_path / "figures" / "depth_propagation.pdf"]
    assert_figure_files(paths)


def test_interpolation_path_endpoints() -> None:
    start, end = torch.zeros(1, 2, 2), torch.ones(1, 2, 2)
    t, path = interpolation_path(start, end, steps=5)
    assert t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert torch.equal(path[0], start) and torch.equal(path[-1], end) and torch.equal(path[2], 0.5 * end)


def test_every_model_figure_is_written(model_dir: Path, results: list[Path], tmp_path: Path) -> None:
    paths = make_model_figures(model_dir, tmp_path, data_dir=DATA, device="cpu", results=results,
                               options={"gallery_samples": 4, "noise_samples": 200})
    assert paths == model_figure_files(tmp_path) and len(paths) == 2 * len(figure_names(MODEL))
    assert_figure_files(paths)
    with pytest.raises(UserError, match="unknown figure"):
        make_model_figures(model_dir, tmp_path, data_dir=DATA, device="cpu", names=["histogram"])
    with pytest.raises(UserError, match="n_clusters"):
        make_model_figures(model_dir, tmp_path, data_dir=DATA, device="cpu", options={"n_clusters": "many"})


def test_gallery_reads_both_predictions(model_dir: Path, tmp_path: Path) -> None:
    trained = load_trained_model(model_dir)
    test = load_dataset("digits", DATA)[1]
    gallery = craft_gallery(trained, test.images, test.labels, setting={"attack": "fgsm", "eps": 0.2}, n_samples=6)
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(0))[:6]
    assert torch.equal(gallery.clean, test.images[order]) and torch.equal(gallery.labels, test.labels[order])
    assert float((gallery.adversarial - gallery.clean).abs().max()) <= 0.2 + 1e-6
    with torch.no_grad():
        scores = trained.model(gallery.adversarial)
    assert torch.equal(gallery.adv_prediction, scores.argmax(dim=1))
    assert torch.allclose(gallery.adv_probability, scores.softmax(dim=1).amax(dim=1))
    assert not gallery.adv_rejected.any() and gallery.setting == "fgsm ε=0.2"
    assert_figure_files(save_figure(plot_gallery(gallery), tmp_path, "gallery"))


def test_folded_rgb_weights_figure(tmp_path: Path) -> None:
    """conv1 of 3 input channels, 16·8 output channels (minmaxout_2_4): 128 tiles of 3 channels."""
    model = build_model(parse_model_name("relog-minmaxout_2_4"), dataset_info("cifar10"), ArchOptions(arch="mnist_cnn"))
    assert first_conv(model).weight.shape == (128, 3, 5, 5)
    figure = plot_conv1_weights(model, fold_factor=8)
    assert_figure_files(save_figure(figure, tmp_path, "conv1_weights"))
