"""The attack catalog (SPEC §5): what each attack is, as plain torch-free data.

One ``AttackEntry`` per attack holds everything the rest of the project may know about it: its
kind (what the gradient-masking checks compare by), its norm, its presets (``paper``: the
journal's evaluation; ``strong``: the project's), the valid strings of its parameters, whether a
setting can reach any perturbation, its place in the strength order of the convergence check
(``budget``), how its per-sample norm joins a worst case (``per_sample_norm``), and where its
implementation lives (``module``, ``function``: imported only when the attack runs, through
``newlogic.attacks.base.run_attack``). Checks, tables, evaluation, listing and the CLI read these
fields; no module outside ``newlogic/attacks/`` names an attack. Planning (``snakemake -n``)
resolves every setting through this module without importing torch.

Kinds: ``one_step`` (FGSM, FGM), ``iterative`` (BIM, PGD, C&W, MaxConfidence, JSMA), ``adaptive``
(through the logic layers' smooth surrogate, Tramèr et al. 2020),
``black_box`` (SPSA), ``transfer`` (examples crafted on a surrogate), ``ensemble`` (AutoAttack)
and ``noise`` (uniform random noise at ε: the baseline an attack must beat, Carlini et al. 2019 §5).

Threat models: ``pixels`` (default; ε in pixel units, adversarial images clipped to [0, 1]) and
``normalized`` (the paper's CIFAR-10 threat model, SPEC §3 calls it a flaw: ε in normalised
units ``z = (x − mean_c) / std_c``, ``z`` clipped to ``±normalized_clip``, journal: 3).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from newlogic.datasets import dataset_info
from newlogic.errors import UserError

ONE_STEP, ITERATIVE, ADAPTIVE, BLACK_BOX, TRANSFER, ENSEMBLE, NOISE = KINDS = (
    "one_step", "iterative", "adaptive", "black_box", "transfer", "ensemble", "noise")
# attacks that differentiate the attacked model itself: their results record the zero-gradient fraction
WHITE_BOX_KINDS = (ONE_STEP, ITERATIVE, ADAPTIVE, ENSEMBLE)
PRESETS = ("paper", "strong")
DEFAULT_PRESET = "paper"
SURROGATE_ATTACK = "adaptive"  # the attack through every component's surrogate (the landscape measurement's)

PIXELS = "pixels"
NORMALIZED = "normalized"
THREAT_MODELS = (PIXELS, NORMALIZED)
DEFAULT_CLIP = 3.0  # the journal's ±3
SCALE_NOTE = ("Columns of the paper preset ({attacks}) run the 2019 code's attacks: their accuracy changes when a "
              "model's scores are multiplied by a constant (docs/results.md, \"Score scale\"); the worst case "
              "and the strong suite do not.")
NORMALIZED_NOTE = ("Threat model: the paper's, ε in normalised units (x − mean)/std and clip ±{clip:g} "
                   "(SPEC §3 calls it a flaw), for the settings with threat_model: normalized.")
CLIP_MIN, CLIP_MAX = 0.0, 1.0
UNBOUNDED_CONST = 10.0  # C&W: a search that can raise c this high reaches any distortion [project]
AUTOATTACK_COMPONENTS = ("apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "square")  # every component, in chain order
STANDARD_CHAIN = ("apgd-ce", "apgd-t", "fab-t", "square")  # RobustBench's standard version, in its order
APGD_LOSSES = ("ce", "dlr")  # the untargeted losses of APGD (``newlogic.attacks.apgd``)
JSMA_TARGETS = ("random", "next")
LOSSES = ("ce", "margin", "dlr")  # the project's gradient attacks' losses (``newlogic.attacks.losses``)
STEP_NORMS = ("linf", "l2")  # the norms of the project's projected-gradient steps (``newlogic.attacks.pgd``)
# per-sample measurements an attack may add to its result (None for the others); filled by its ``summarize_records``
RECORD_FIELDS = ("chain_robust_accuracy",)
GALLERY_SETTING: dict[str, Any] = {"attack": "cw_l2"}  # the adversarial gallery's default (SPEC §6: C&W)

Params = dict[str, Any]


@dataclass(frozen=True)
class Derived:
    """A default computed from the other resolved parameters, e.g. ``Derived(lambda p: p["eps"] / 10)``.

    ``kind`` is the type an override of it must have; floats are rounded to 10 significant digits.
    """

    compute: Callable[[Params], Any]
    kind: type = float

    def __call__(self, params: Params) -> Any:
        value = self.compute(params)
        return float(f"{value:.10g}") if isinstance(value, float) else value


@dataclass(frozen=True)
class ByDataset:
    """A default that depends on the dataset's ``attack_scale`` (``newlogic.datasets``; SPEC §5 "0.3 / 8/255").

    An unknown dataset is a UserError, never MNIST's value.
    """

    mnist: Any
    cifar10: Any

    def __call__(self, dataset: str) -> Any:
        return getattr(self, dataset_info(dataset).attack_scale)


EPS_LINF = ByDataset(mnist=0.3, cifar10=8 / 255)
EPS_L2 = ByDataset(mnist=2.0, cifar10=0.5)
PAPER_STEP = Derived(lambda p: p["eps"] / 3)  # the journal's step 0.1 at ε 0.3 [project: scales with ε]
STRONG_STEP = Derived(lambda p: p["eps"] / 10)  # strong preset: ε/10


def linf_unbounded(params: Params) -> bool:
    """An L∞ bound of 1 (``eps: unbounded``) allows any image in [0, 1]."""
    return params["eps"] >= CLIP_MAX - CLIP_MIN


def cw_unbounded(params: Params) -> bool:
    """C&W can reach any distortion when its search can raise c to ``UNBOUNDED_CONST`` [project]:
    ``initial_const · 10^(binary_search_steps − 1) ≥ 10`` (the paper preset's single step at c = 1 cannot)."""
    return params["initial_const"] * 10 ** (params["binary_search_steps"] - 1) >= UNBOUNDED_CONST


def autoattack_unbounded(params: Params) -> bool:
    """An L∞ bound of 1 or more allows any image in [0, 1]."""
    return params["norm"] == "Linf" and linf_unbounded(params)


def autoattack_budget(params: Params) -> float:
    """AutoAttack's iterations: restarts × the steps (APGD, FAB) or queries (Square) of each component it runs."""
    per_component = {"apgd-ce": params["apgd_steps"], "apgd-dlr": params["apgd_steps"], "apgd-t": params["apgd_steps"],
                     "fab-t": params["fab_steps"], "square": params["square_queries"]}
    return float(params["restarts"] * sum(per_component[name] for name in params["components"]))


def _never(_params: Params) -> bool:
    return False


@dataclass(frozen=True)
class AttackEntry:
    """A catalogued attack: metadata only; ``module.function`` is ``run(target, x, y, attack, context) -> x_adv``.

    ``norm``: the threat model's norm (linf, l2, l0), or a function of the resolved parameters
    giving it. ``presets`` maps a preset name to its defaults (constants, ``Derived`` or
    ``ByDataset``); ``types`` gives the type of parameters whose default is None; ``choices`` the
    valid strings; ``unbounded(params)``: the setting can reach any perturbation, so it must bring
    the accuracy to ≈0 (Carlini et al. 2019). ``budget(params)``: its strength among the
    configurations of one threat (gradient steps × restarts; an ensemble's iterations; None: not ordered).
    ``per_sample_norm``: a minimal-perturbation attack without an ε, whose per-sample norms in
    this norm join that norm's worst cases. ``needs_surrogate``: crafted on another model
    (``base_attack``). ``summarize_records``: a function of ``module`` turning the attack's
    per-sample records into result fields (``RECORD_FIELDS``). ``scale_dependent_presets``: presets that
    keep the 2019 code's behaviour, whose accuracy changes when the scores are multiplied by a constant
    (``bench/scale_invariance.py``): tables with such a column say so in their caption.
    """

    name: str
    module: str
    function: str
    kind: str
    norm: str | Callable[[Params], str]
    presets: Mapping[str, Mapping[str, Any]]
    description: str
    types: Mapping[str, type] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unbounded: Callable[[Params], bool] = _never
    budget: Callable[[Params], float] | None = None
    per_sample_norm: str | None = None
    needs_surrogate: bool = False
    summarize_records: str | None = None
    scale_dependent_presets: tuple[str, ...] = ()  # presets whose accuracy moves with the score scale (the 2019 code's)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"attack {self.name}: kind {self.kind!r} is not one of {KINDS}")

    @property
    def default_preset(self) -> str:
        """``paper`` where the attack has it, else its only preset."""
        return DEFAULT_PRESET if DEFAULT_PRESET in self.presets else next(iter(self.presets))

    def norm_of(self, params: Params) -> str:
        """The norm of a setting with these resolved parameters."""
        return self.norm if isinstance(self.norm, str) else self.norm(params)


_ATTACKS = "newlogic.attacks."
ENTRIES = (
    # paper: cleverhans (the 2019 code: batch-mean CE, depends on the score scale); strong: the project's, on `loss`
    AttackEntry("fgsm", _ATTACKS + "gradient", "fgsm", "one_step", "linf",
                {"paper": {"eps": 0.3}, "strong": {"eps": EPS_LINF, "loss": "margin"}},
                "FGSM: one L∞ step of ε along sign(∇x loss) (paper: cleverhans CE; strong: per-sample loss)",
                choices={"loss": LOSSES}, scale_dependent_presets=("paper",)),
    AttackEntry("fgm_l2", _ATTACKS + "gradient", "fgm_l2", "one_step", "l2",
                {"paper": {"eps": 2.0}, "strong": {"eps": EPS_L2, "loss": "margin"}},
                "FGM L2: one step of L2 length ε along ∇x loss (paper: cleverhans CE; strong: exactly ε)",
                choices={"loss": LOSSES}, scale_dependent_presets=("paper",)),
    AttackEntry("bim", _ATTACKS + "gradient", "bim", "iterative", "linf",
                {"paper": {"eps": 0.3, "nb_iter": 5, "eps_iter": PAPER_STEP},
                 "strong": {"eps": EPS_LINF, "nb_iter": 40, "eps_iter": STRONG_STEP, "loss": "margin"}},
                "BIM: nb_iter projected L∞ steps of eps_iter (paper: cleverhans CE; strong: per-sample loss)",
                choices={"loss": LOSSES}, unbounded=linf_unbounded, budget=lambda p: p["nb_iter"],
                scale_dependent_presets=("paper",)),
    AttackEntry("pgd", _ATTACKS + "pgd", "pgd", "iterative", "linf",
                {"strong": {"eps": EPS_LINF, "nb_iter": 40, "eps_iter": STRONG_STEP, "restarts": 3, "loss": "margin"}},
                "PGD: BIM from random starts, restarts on the samples not yet fooled", choices={"loss": LOSSES},
                unbounded=linf_unbounded, budget=lambda p: p["nb_iter"] * p["restarts"]),
    AttackEntry("adaptive", _ATTACKS + "adaptive", "adaptive", "adaptive", lambda p: p["norm"],
                {"strong": {"eps": EPS_LINF, "norm": "linf", "nb_iter": 100, "eps_iter": STRONG_STEP, "restarts": 2,
                            "loss": "margin", "temperature": 1.0, "final_temperature": 0.01}},
                "adaptive: PGD on the margin through every component's surrogate backward (BPDA: soft-min/soft-max "
                "folds, softplus rectifiers, flattened curvature; newlogic/nn/surrogate.py), temperature annealed from "
                "temperature to final_temperature", choices={"loss": LOSSES, "norm": STEP_NORMS},
                unbounded=lambda p: p["norm"] == "linf" and linf_unbounded(p),
                budget=lambda p: p["nb_iter"] * p["restarts"]),
    AttackEntry("cw_l2", _ATTACKS + "carlini", "cw_l2", "iterative", "l2",
                {"paper": {"binary_search_steps": 1, "max_iterations": 50, "lr": 0.5, "initial_const": 1.0,
                           "confidence": 0.0, "abort_early": False},
                 "strong": {"binary_search_steps": 9, "max_iterations": 1000, "lr": 1e-2, "initial_const": 1e-3,
                            "confidence": 0.0, "abort_early": True}},
                "C&W L2: Adam in tanh space on c·max(margin + κ, 0) + L2², binary search on c",
                unbounded=cw_unbounded, per_sample_norm="l2", scale_dependent_presets=("paper",)),
    AttackEntry("spsa", _ATTACKS + "spsa", "spsa", "black_box", "linf",
                {"paper": {"eps": 0.3, "nb_iter": 50, "spsa_samples": 128, "learning_rate": 0.01, "delta": 0.01,
                           "num_images": 1500},
                 "strong": {"eps": EPS_LINF, "nb_iter": 100, "spsa_samples": 128, "learning_rate": 0.01,
                            "delta": 0.01}},
                "SPSA: Adam on the margin loss with finite-difference gradient estimates (no gradients used)"),
    AttackEntry("max_confidence", _ATTACKS + "max_confidence", "max_confidence", "iterative", "linf",
                {"paper": {"eps": 0.3, "nb_iter": 5, "eps_iter": PAPER_STEP, "rand_init": False}},
                "MaxConfidence: targeted PGD to every wrong class, keep the most confident misclassification",
                unbounded=linf_unbounded, scale_dependent_presets=("paper",)),
    AttackEntry("jsma", _ATTACKS + "saliency", "jsma", "iterative", "l0",
                {"paper": {"theta": 1.0, "gamma": 0.1, "target": "random"}},
                "JSMA: raise the two most salient pixels towards a target class until it wins or γ of the pixels "
                "changed", choices={"target": JSMA_TARGETS}),
    # the norm of a resolved transfer setting is its base attack's
    AttackEntry("transfer", _ATTACKS + "transfer", "transfer", "transfer", "linf",
                {"paper": {"base_attack": "bim"}},
                "transfer: the base attack crafted on a surrogate model, evaluated on the target",
                needs_surrogate=True),
    AttackEntry("autoattack", _ATTACKS + "autoattack", "autoattack", "ensemble", lambda p: p["norm"].lower(),
                {"strong": {"eps": EPS_LINF, "norm": "Linf", "components": list(STANDARD_CHAIN),
                            "apgd_steps": 100, "fab_steps": 100, "square_queries": 5000, "restarts": 1}},
                "AutoAttack: APGD-CE, APGD-T, FAB-T, Square in sequence (RobustBench standard settings; apgd-dlr: "
                "APGD on the untargeted DLR loss)",
                choices={"norm": ("Linf", "L2"), "components": AUTOATTACK_COMPONENTS},
                unbounded=autoattack_unbounded, budget=autoattack_budget,
                summarize_records="summarize_records"),
    # AutoAttack's gradient-free member on its own: a black-box attack (its weakness at a small budget is no masking)
    AttackEntry("square", _ATTACKS + "autoattack", "square", "black_box", lambda p: p["norm"].lower(),
                {"strong": {"eps": EPS_LINF, "norm": "Linf", "square_queries": 5000, "restarts": 1}},
                "Square: random-search attack of AutoAttack (Andriushchenko et al. 2020), queries only",
                choices={"norm": ("Linf", "L2")}, unbounded=autoattack_unbounded),
    # a transfer's crafting attack: all steps on every sample, each keeping its highest-loss iterate
    AttackEntry("apgd_max_loss", _ATTACKS + "apgd", "apgd_max_loss", "iterative", lambda p: p["norm"].lower(),
                {"strong": {"eps": EPS_LINF, "norm": "Linf", "loss": "ce", "apgd_steps": 100, "restarts": 1}},
                "APGD crafting: every sample runs all apgd_steps on loss and keeps its highest-loss iterate (a "
                "transfer's base attack: far past the source's boundary, not just across it)",
                choices={"norm": ("Linf", "L2"), "loss": APGD_LOSSES}, unbounded=autoattack_unbounded,
                budget=lambda p: p["apgd_steps"] * p["restarts"]),
    AttackEntry("uniform_noise", _ATTACKS + "uniform_noise", "uniform_noise", "noise", "linf",
                {"paper": {"eps": 0.3}, "strong": {"eps": EPS_LINF}},
                "uniform noise: every pixel moved by U(−ε, ε), the baseline an attack must beat"),
)
CATALOG: dict[str, AttackEntry] = {entry.name: entry for entry in ENTRIES}


def attack_entry(name: Any) -> AttackEntry:
    """The catalog entry of attack ``name``; an unknown name is a UserError listing the valid ones."""
    if name not in CATALOG:
        raise UserError(f"unknown attack {name!r}; valid: {', '.join(CATALOG)}")
    return CATALOG[name]
