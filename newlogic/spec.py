"""The model-name grammar (SPEC §1): parse a name into a frozen ``ModelSpec`` and back.

A name is tokens joined with ``-``. Exactly one activation token; at most one token of
each other kind (units, folding, output, loss, regulariser, negatives). The canonical form
writes them in that fixed order with legacy spellings replaced and default coefficients
left out, so each model has exactly one name; file paths use it.

``bce`` is a loss on sigmoid outputs, so it implies ``sigmoid_out`` (the journal names
``relog-elliptical-maxout_4-bce-max_fit_l1`` without it); the canonical form writes both.
Negatives (all-zero targets) need sigmoid outputs: without them the name is an error.

Legacy forms accepted (SPEC §1): ``kernel`` = ``quadratic``; ``sigmoid-out`` =
``sigmoid_out``; ``strictening_<c>`` = ``max_fit_l1_<c>``; a ``cnn-`` or
``cnn-<dataset>-`` prefix (the dataset is checked against the configured one). Names with
the ``cnn-<dataset>-`` prefix are the 9–19 Oct names, which wrote the max factor of
min/max-out first: there ``minmaxout_4_2`` means ``minmaxout_2_4``.

Bounds (checked before anything is built): ReLog ``n`` in (1, 10⁶]; folding factors ≥ 1 with
``m·k ≤ MAX_FOLD_FACTOR`` (256); coefficients in [0, 10⁶].

Builders read the ``ModelSpec``; nothing else in the project parses names.
"""

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from newlogic.errors import UserError

DATASET_PREFIXES = ("mnist", "cifar10", "digits")
DEFAULT_RELOG_BASE = 10.0
DEFAULT_REGULARIZER_COEF = {"max_fit_l1": 1.0, "max_fit_l2": 0.01, "max_margin": 0.01}
VALID_TOKENS = (
    "relu, relog, relog_<n>, quadratic (legacy kernel), elliptical, spherical, maxout_<k>, "
    "minmaxout_<m>_<k>, sigmoid_out (legacy sigmoid-out), bce, max_fit_l1[_<c>], "
    "max_fit_l2[_<c>], max_margin[_<c>], strictening_<c>, scrambling, overlay; "
    "optional prefix cnn- or cnn-<dataset>- (dataset one of " + ", ".join(DATASET_PREFIXES) + ")"
)


class GrammarError(UserError):
    """A model name that does not follow the grammar; the message names the bad token."""


@dataclass(frozen=True)
class ModelSpec:
    """A model's architecture and objective, as named by the grammar (SPEC §1–§2).

    ``min_group``/``max_group`` describe folding: ``maxout_k`` is (1, k), ``minmaxout_m_k`` is
    (m, k), no folding is (1, 1); a folded layer emits ``min_group * max_group`` times as
    many channels. ``loss`` follows from the output: softmax → ``ce``, ``sigmoid_out`` →
    ``mse`` (journal) or ``bce`` (paper, with the ``bce`` token).
    """

    activation: str = "relu"
    relog_base: float = DEFAULT_RELOG_BASE
    units: str = "linear"
    min_group: int = 1
    max_group: int = 1
    output: str = "softmax"
    loss: str = "ce"
    regularizer: str | None = None
    regularizer_coef: float = 0.0
    negatives: str | None = None

    @property
    def fold_factor(self) -> int:
        """How many channels a folded layer emits per output channel: F = m·k."""
        return self.min_group * self.max_group

    @property
    def name(self) -> str:
        """The canonical name."""
        return format_model_name(self)

    def to_dict(self) -> dict[str, Any]:
        """All fields plus the canonical name, for config files."""
        return {"name": self.name, **asdict(self)}


MAX_NUMBER = 1e6  # every number in a name (ReLog n, coefficients) is at most this
MAX_FOLD_FACTOR = 256  # folding m·k: each folded layer emits m·k times the channels (maxout_4: 4)


def _number(text: str) -> float:
    """A token's number; out-of-range values (up to inf) are grammar errors."""
    value = float(text)
    if not value <= MAX_NUMBER:
        raise GrammarError(f"number {text[:20]!r} in a model name is out of range (at most {MAX_NUMBER:g})")
    return value


def _integer(text: str) -> int:
    return int(_number(text))


def _format_number(value: float) -> str:
    """Plain decimal notation (never ``1e-05``: a ``-`` would split the token)."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _regularizer(kind: str) -> Callable[[re.Match[str], bool], dict[str, Any]]:
    def handle(match: re.Match[str], _legacy: bool) -> dict[str, Any]:
        coef = match.group("c")
        return {
            "regularizer": kind,
            "regularizer_coef": _number(coef) if coef else DEFAULT_REGULARIZER_COEF[kind],
        }

    return handle


def _minmaxout(match: re.Match[str], legacy_era: bool) -> dict[str, Any]:
    first, second = _integer(match.group("a")), _integer(match.group("b"))
    min_group, max_group = (second, first) if legacy_era else (first, second)
    return {"min_group": min_group, "max_group": max_group}


_NUM = r"[0-9]+(?:\.[0-9]+)?"
_INT = r"[0-9]+"

# token pattern → (kind, handler(match, legacy_era) → ModelSpec fields)
TOKENS: dict[str, tuple[str, Callable[[re.Match[str], bool], dict[str, Any]]]] = {
    r"relu": ("activation", lambda m, _: {"activation": "relu"}),
    r"relog": ("activation", lambda m, _: {"activation": "relog"}),
    rf"relog_(?P<n>{_NUM})": (
        "activation",
        lambda m, _: {"activation": "relog", "relog_base": _number(m.group("n"))},
    ),
    r"quadratic|kernel": ("units", lambda m, _: {"units": "quadratic"}),
    r"elliptical": ("units", lambda m, _: {"units": "elliptical"}),
    r"spherical": ("units", lambda m, _: {"units": "spherical"}),
    rf"maxout_(?P<k>{_INT})": ("folding", lambda m, _: {"max_group": _integer(m.group("k"))}),
    rf"minmaxout_(?P<a>{_INT})_(?P<b>{_INT})": ("folding", _minmaxout),
    r"sigmoid_out": ("output", lambda m, _: {"output": "sigmoid"}),
    r"bce": ("loss", lambda m, _: {"loss": "bce", "output": "sigmoid"}),
    rf"max_fit_l1(?:_(?P<c>{_NUM}))?": ("regulariser", _regularizer("max_fit_l1")),
    rf"strictening_(?P<c>{_NUM})": ("regulariser", _regularizer("max_fit_l1")),
    rf"max_fit_l2(?:_(?P<c>{_NUM}))?": ("regulariser", _regularizer("max_fit_l2")),
    rf"max_margin(?:_(?P<c>{_NUM}))?": ("regulariser", _regularizer("max_margin")),
    r"scrambling": ("negatives", lambda m, _: {"negatives": "scrambling"}),
    r"overlay": ("negatives", lambda m, _: {"negatives": "overlay"}),
}
_COMPILED = [(re.compile(pattern), kind, handle) for pattern, (kind, handle) in TOKENS.items()]


def _split_tokens(name: str) -> list[str]:
    """Split on ``-`` and join the legacy two-token ``sigmoid-out`` into one token."""
    tokens: list[str] = []
    for token in name.split("-"):
        if token == "out" and tokens and tokens[-1] == "sigmoid":
            tokens[-1] = "sigmoid_out"
        else:
            tokens.append(token)
    return tokens


def _strip_prefix(tokens: list[str], name: str, dataset: str | None) -> tuple[list[str], bool]:
    """Drop a legacy ``cnn-`` / ``cnn-<dataset>-`` prefix; say whether it named a dataset."""
    if not tokens or tokens[0] != "cnn":
        return tokens, False
    tokens = tokens[1:]
    if not tokens or tokens[0] not in DATASET_PREFIXES:
        return tokens, False
    prefix_dataset = tokens[0]
    if dataset is not None and prefix_dataset != dataset:
        raise GrammarError(
            f"model name {name!r} has prefix 'cnn-{prefix_dataset}-' but the dataset is "
            f"{dataset!r}; drop the prefix or use 'cnn-{dataset}-'"
        )
    return tokens[1:], True


def _match_token(token: str, name: str, legacy_era: bool) -> tuple[str, dict[str, Any]]:
    for pattern, kind, handle in _COMPILED:
        match = pattern.fullmatch(token)
        if match:
            return kind, handle(match, legacy_era)
    shown = token if token else "(empty token)"
    raise GrammarError(f"unknown token {shown!r} in model name {name!r}; valid tokens: {VALID_TOKENS}")


def _validate(spec: ModelSpec, tokens_by_kind: dict[str, str], name: str) -> None:
    if "activation" not in tokens_by_kind:
        raise GrammarError(f"model name {name!r} has no activation token; add one of relu, relog, relog_<n>")
    if spec.activation == "relog" and spec.relog_base <= 1:
        raise GrammarError(f"relog base in {tokens_by_kind['activation']!r} must be > 1")
    if spec.min_group < 1 or spec.max_group < 1:
        raise GrammarError(f"folding factors in {tokens_by_kind['folding']!r} must be >= 1")
    if spec.fold_factor > MAX_FOLD_FACTOR:
        raise GrammarError(f"folding {tokens_by_kind['folding']!r} in model name {name!r} multiplies every layer's "
                           f"channels by {spec.fold_factor}; valid: m·k from 1 to {MAX_FOLD_FACTOR}")
    if spec.output != "sigmoid" and "negatives" in tokens_by_kind:
        raise GrammarError(
            f"token {tokens_by_kind['negatives']!r} in model name {name!r} needs sigmoid_out "
            "(negatives have all-zero targets); add the sigmoid_out token"
        )
    if spec.regularizer is not None and spec.regularizer_coef < 0:
        raise GrammarError(f"regulariser coefficient in {tokens_by_kind['regulariser']!r} must be >= 0")


def parse_model_name(name: str, dataset: str | None = None) -> ModelSpec:
    """Parse a model name; ``dataset``, when given, is checked against a legacy prefix."""
    if not isinstance(name, str) or not name.strip():
        raise GrammarError(f"empty model name; valid tokens: {VALID_TOKENS}")
    tokens, legacy_era = _strip_prefix(_split_tokens(name.strip()), name, dataset)
    fields: dict[str, Any] = {}
    tokens_by_kind: dict[str, str] = {}
    for token in tokens:
        kind, token_fields = _match_token(token, name, legacy_era)
        if kind in tokens_by_kind:
            raise GrammarError(
                f"model name {name!r} has two {kind} tokens, {tokens_by_kind[kind]!r} and "
                f"{token!r}; keep one"
            )
        tokens_by_kind[kind] = token
        fields.update(token_fields)
    if fields.get("output") == "sigmoid" and "loss" not in fields:
        fields["loss"] = "mse"
    spec = ModelSpec(**fields)
    _validate(spec, tokens_by_kind, name)
    return spec


def _activation_token(spec: ModelSpec) -> str:
    if spec.activation == "relu" or spec.relog_base == DEFAULT_RELOG_BASE:
        return spec.activation
    return f"relog_{_format_number(spec.relog_base)}"


def _folding_token(spec: ModelSpec) -> str | None:
    if spec.min_group == 1 and spec.max_group == 1:
        return None
    if spec.min_group == 1:
        return f"maxout_{spec.max_group}"
    return f"minmaxout_{spec.min_group}_{spec.max_group}"


def _regularizer_token(spec: ModelSpec) -> str | None:
    if spec.regularizer is None:
        return None
    if spec.regularizer_coef == DEFAULT_REGULARIZER_COEF[spec.regularizer]:
        return spec.regularizer
    return f"{spec.regularizer}_{_format_number(spec.regularizer_coef)}"


def format_model_name(spec: ModelSpec) -> str:
    """The canonical name: activation, units, folding, output, loss, regulariser, negatives."""
    tokens = [
        _activation_token(spec),
        None if spec.units == "linear" else spec.units,
        _folding_token(spec),
        "sigmoid_out" if spec.output == "sigmoid" else None,
        "bce" if spec.loss == "bce" else None,
        _regularizer_token(spec),
        spec.negatives,
    ]
    return "-".join(token for token in tokens if token)


def canonical_name(name: str, dataset: str | None = None) -> str:
    """Parse and format back: the name files and paths use."""
    return format_model_name(parse_model_name(name, dataset))
