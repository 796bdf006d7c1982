"""The adaptive attack's surrogates cost (issue 32): one adaptive PGD step against one plain PGD step.

Same model, same images, same step: ``--model`` (default ``relog-elliptical-minmaxout_2_4-bce``, the
demo grammar's elliptical min/max-out model, every component with a surrogate: curved units, folds,
ReLog's rectifier; built untrained for MNIST's 28×28 inputs, eval mode, its ramps finished:
curvature a = 1, ReLog strength s = 1), ``--batch`` random images in [0, 1] labelled with the
model's own predictions. A step is ``newlogic.attacks.pgd``'s: the margin loss's input gradient
(``loss_gradient``: forward and backward through the attack target), a sign step of ε/10 and the
projection onto the L∞ ε-ball (ε = 0.3) and [0, 1]. The adaptive step runs the same inside
``surrogate_gradients`` and first sets the annealed temperature, as ``newlogic.attacks.adaptive``
does before every step.

Each of ``--rounds`` rounds times ``--steps`` plain steps, then ``--steps`` adaptive steps (after one
warm-up round), so that a passing load hits both alike; the median round of each counts. Prints
``plain_step_seconds``, ``adaptive_step_seconds`` and ``adaptive_step_ratio`` (adaptive / plain; the
issue's budget: at most 1.3).

    .venv/bin/python bench/surrogate_cost.py [--threads 1] [--batch 32] [--steps 5] [--rounds 5] [--model NAME]
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from newlogic.attacks.losses import margin_loss
from newlogic.attacks.pgd import LINF, loss_gradient, project
from newlogic.datasets import dataset_info
from newlogic.evaluation.target import attack_target
from newlogic.nn.activations import RampedReLog
from newlogic.nn.models import build_model
from newlogic.nn.options import ArchOptions
from newlogic.nn.surrogate import SurrogateMode, surrogate_gradients
from newlogic.nn.units import Unit
from newlogic.spec import parse_model_name

EPS = 0.3
EPS_ITER = EPS / 10


def _step(target: torch.nn.Module, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    _, grad = loss_gradient(target, x_adv, y, margin_loss)
    moved = x_adv + EPS_ITER * grad.sign()
    return (x + project(moved - x, LINF, EPS)).clamp(0.0, 1.0)


def _seconds(steps: int, run: Callable[[], None]) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        run()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", default="relog-elliptical-minmaxout_2_4-bce")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = parse_model_name(args.model)
    model = build_model(spec, dataset_info("mnist5k"), ArchOptions()).eval().requires_grad_(False)
    for module in model.modules():
        if isinstance(module, Unit) and module.kind.curved:
            module.curvature.fill_(1.0)
        if isinstance(module, RampedReLog):
            module.strength.fill_(1.0)
    target = attack_target(model, spec.output, "scores")
    x = torch.rand(args.batch, 1, 28, 28)
    with torch.no_grad():
        y = model(x).argmax(dim=1)
    state = {"x_adv": x.clone()}

    def plain() -> None:
        state["x_adv"] = _step(target, x, state["x_adv"], y)

    def adaptive(mode: SurrogateMode) -> Callable[[], None]:
        def run() -> None:
            mode.temperature = 0.5  # as the attack anneals it before each step
            state["x_adv"] = _step(target, x, state["x_adv"], y)
        return run

    plain_rounds, adaptive_rounds = [], []
    for round_index in range(args.rounds + 1):
        plain_seconds = _seconds(args.steps, plain)
        with surrogate_gradients(target, 1.0) as mode:
            adaptive_seconds = _seconds(args.steps, adaptive(mode))
        if round_index:  # round 0 warms up
            plain_rounds.append(plain_seconds)
            adaptive_rounds.append(adaptive_seconds)
    plain_step, adaptive_step = statistics.median(plain_rounds), statistics.median(adaptive_rounds)
    print(f"# {args.model}, batch {args.batch}, {args.threads} thread(s), median of {args.rounds} rounds "
          f"of {args.steps} steps")
    print(f"plain_step_seconds {plain_step:.4f}")
    print(f"adaptive_step_seconds {adaptive_step:.4f}")
    print(f"adaptive_step_ratio {adaptive_step / plain_step:.3f}")


if __name__ == "__main__":
    main()
