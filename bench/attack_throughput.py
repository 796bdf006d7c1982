"""Attack throughput: the project's C&W L2, BIM and SPSA against cleverhans's functions called plainly (issue 4).

Same model (a ReLU MNIST CNN trained on digits, or ``--model-dir``), same 100 test images
(shuffled with seed 0), identical parameters:

- C&W L2: 3 binary-search steps × 100 iterations, cleverhans's defaults otherwise (lr 5e-3,
  initial const 1e-2, confidence 0); project: ``cw_l2`` from the registry (batched, early
  abort, frozen successes); reference: ``cleverhans.torch.attacks.carlini_wagner_l2``.
- BIM: the paper preset (ε 0.3, 5 iterations of 0.1); project: ``bim`` from the registry;
  reference: ``projected_gradient_descent(..., rand_init=False)``.
- SPSA: ε 0.3, 10 iterations × 32 directions, learning rate 0.01, δ 0.01; project: ``spsa`` from
  the registry (batched over images, estimates at the iterate); reference:
  ``cleverhans.torch.attacks.spsa`` (a Python loop over images, estimates at 2x: issue #1249).

Each is run once per round after a warm-up pass (``--rounds``: rounds taken in turn, best
counts). Prints fifteen lines: ``{cw,bim,spsa}_project_img_per_s``,
``{cw,bim,spsa}_reference_img_per_s``, ``{cw,bim,spsa}_ratio`` (project / reference),
``{cw,bim,spsa}_project_adv_acc``, ``{cw,bim,spsa}_reference_adv_acc`` (accuracies as fractions);
the conditions go to stderr.

    .venv/bin/python bench/attack_throughput.py [--threads 2] [--rounds 3] [--model-dir DIR] [--device cpu]
"""

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from cleverhans.torch.attacks.carlini_wagner_l2 import carlini_wagner_l2
from cleverhans.torch.attacks.projected_gradient_descent import projected_gradient_descent
from cleverhans.torch.attacks.spsa import spsa

from newlogic.attacks import AttackContext, resolve_setting
from newlogic.data import load_dataset
from newlogic.device import resolve_device
from newlogic.store.model_dir import load_trained_model
from newlogic.training.run import run_training

SAMPLES = 100
CW = {"binary_search_steps": 3, "max_iterations": 100, "lr": 5e-3, "initial_const": 1e-2, "confidence": 0.0}
BIM = {"eps": 0.3, "nb_iter": 5, "eps_iter": 0.1}
SPSA = {"eps": 0.3, "nb_iter": 10, "spsa_samples": 32, "learning_rate": 0.01, "delta": 0.01}
TRAIN_EPOCHS = 5

Attack = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def project_attack(name: str, params: dict) -> Attack:
    """The registry's attack with ``params``, as ``newlogic attack`` runs it."""
    attack = resolve_setting({"attack": name, **params}, "digits")
    return lambda model, x, y: attack.run(model, x, y, AttackContext(10, lambda i: model(i).softmax(dim=1)))


REFERENCES: dict[str, Attack] = {
    "cw": lambda model, x, y: carlini_wagner_l2(model, x, 10, y=y, **CW),
    "bim": lambda model, x, y: projected_gradient_descent(
        model, x, BIM["eps"], BIM["eps_iter"], BIM["nb_iter"], np.inf, 0.0, 1.0, y=y, rand_init=False),
    "spsa": lambda model, x, y: spsa(
        model, x, SPSA["eps"], SPSA["nb_iter"], clip_min=0.0, clip_max=1.0, y=y, learning_rate=SPSA["learning_rate"],
        delta=SPSA["delta"], spsa_samples=SPSA["spsa_samples"]),
}
PROJECT: dict[str, Attack] = {
    "cw": project_attack("cw_l2", CW), "bim": project_attack("bim", BIM), "spsa": project_attack("spsa", SPSA),
}


def timed(attack: Attack, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(images per second, adversarial accuracy) of one run."""
    started = time.perf_counter()
    adv = attack(model, x, y).detach()
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        accuracy = float((model(adv).argmax(dim=1) == y).float().mean())
    return len(x) / seconds, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (the issue measured 2)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each attack, in turn; the best counts")
    parser.add_argument("--model-dir", type=Path, help="a trained digits model (default: train relu for 5 epochs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = args.model_dir
        if model_dir is None:
            model_dir = Path(scratch) / "relu"
            with contextlib.redirect_stdout(sys.stderr):  # stdout carries the figures only
                run_training("relu", "digits", model_dir, data_dir=Path(scratch), seed=0, device=str(device),
                             training={"epochs": TRAIN_EPOCHS}, architecture={})
        model = load_trained_model(model_dir, device).model.requires_grad_(False)
    test = load_dataset("digits")[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(0))[:SAMPLES]
    x, y = test.images[order].to(device), test.labels[order].to(device)
    with torch.no_grad():
        clean = float((model(x).argmax(dim=1) == y).float().mean())
    print(f"# {SAMPLES} digits images, clean accuracy {clean:.3f}, {args.threads} threads, device {device}, "
          f"torch {torch.__version__}; cw {CW}; bim {BIM}; spsa {SPSA}", file=sys.stderr)
    for attack in (*PROJECT.values(), *REFERENCES.values()):
        attack(model, x[:4], y[:4])  # warm-up: allocator and kernels
    best: dict[tuple[str, str], tuple[float, float]] = {}
    for _ in range(args.rounds):
        for name in PROJECT:
            for path, attacks in (("project", PROJECT), ("reference", REFERENCES)):
                speed, accuracy = timed(attacks[name], model, x, y)
                if speed > best.get((name, path), (0.0, 0.0))[0]:
                    best[name, path] = (speed, accuracy)
    for name in PROJECT:
        (project_speed, project_acc), (reference_speed, reference_acc) = best[name, "project"], best[name, "reference"]
        print(f"{name}_project_img_per_s {project_speed:.1f}")
        print(f"{name}_reference_img_per_s {reference_speed:.1f}")
        print(f"{name}_ratio {project_speed / reference_speed:.2f}")
        print(f"{name}_project_adv_acc {project_acc:.3f}")
        print(f"{name}_reference_adv_acc {reference_acc:.3f}")


if __name__ == "__main__":
    main()
