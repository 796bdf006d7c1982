"""The model-name grammar (SPEC §1): journal names, legacy spellings, errors, and property tests."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from journal_names import JOURNAL_NAMES

from newlogic.errors import UserError
from newlogic.spec import (
    DATASET_PREFIXES,
    GrammarError,
    ModelSpec,
    canonical_name,
    format_model_name,
    parse_model_name,
)


@pytest.mark.parametrize(("name", "canonical"), JOURNAL_NAMES.items())
def test_journal_name_parses_to_its_canonical_form(name: str, canonical: str) -> None:
    spec = parse_model_name(name)
    assert format_model_name(spec) == canonical == spec.name == canonical_name(name)
    assert parse_model_name(canonical) == spec
    assert format_model_name(parse_model_name(canonical)) == canonical


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("relu", ModelSpec()),
        ("relog_100", ModelSpec(activation="relog", relog_base=100.0)),
        (
            "relog-minmaxout_2_4-max_fit_l2",
            ModelSpec(activation="relog", min_group=2, max_group=4, regularizer="max_fit_l2", regularizer_coef=0.01),
        ),
        (
            "relog-quadratic-maxout_4-sigmoid_out-scrambling",
            ModelSpec(activation="relog", units="quadratic", max_group=4, output="sigmoid", loss="mse",
                      negatives="scrambling"),
        ),
        (
            "relog-elliptical-maxout_4-bce-max_fit_l1",
            ModelSpec(activation="relog", units="elliptical", max_group=4, output="sigmoid", loss="bce",
                      regularizer="max_fit_l1", regularizer_coef=1.0),
        ),
        (
            "cnn-mnist-relog-kernel-minmaxout_4_2-sigmoid_out-max_margin",
            ModelSpec(activation="relog", units="quadratic", min_group=2, max_group=4, output="sigmoid", loss="mse",
                      regularizer="max_margin", regularizer_coef=0.01),
        ),
        ("relu-spherical-max_fit_l1_0.5", ModelSpec(units="spherical", regularizer="max_fit_l1", regularizer_coef=0.5)),
    ],
)
def test_parse_gives_the_hand_written_spec(name: str, expected: ModelSpec) -> None:
    assert parse_model_name(name) == expected


@pytest.mark.parametrize(
    ("legacy", "canonical"),
    [
        ("cnn-mnist-relog-kernel-minmaxout_4_2-sigmoid-out", "relog-quadratic-minmaxout_2_4-sigmoid_out"),
        ("relog-strictening_0.1", "relog-max_fit_l1_0.1"),
        ("relog-elliptical-maxout_4-bce-max_fit_l1", "relog-elliptical-maxout_4-sigmoid_out-bce-max_fit_l1"),
        ("relog-kernel", "relog-quadratic"),
        ("relog-sigmoid-out", "relog-sigmoid_out"),
        ("cnn-relog-minmaxout_4_2", "relog-minmaxout_4_2"),  # no dataset prefix: not the 9–19 Oct order
        ("cnn-digits-relog-minmaxout_4_2", "relog-minmaxout_2_4"),
        ("relog_10-max_fit_l2_0.01", "relog-max_fit_l2"),
        ("relu-max_margin_0.01", "relu-max_margin"),
        ("relog_2.50-maxout_04", "relog_2.5-maxout_4"),
        ("relog-maxout_1", "relog"),
        ("relog-minmaxout_1_3", "relog-maxout_3"),
        ("relog-max_fit_l1_0.00001", "relog-max_fit_l1_0.00001"),
    ],
)
def test_legacy_and_default_spellings_map_to_the_canonical_name(legacy: str, canonical: str) -> None:
    assert canonical_name(legacy) == canonical
    assert parse_model_name(canonical) == parse_model_name(legacy)


def test_spec_properties() -> None:
    spec = parse_model_name("relog-minmaxout_2_4-sigmoid_out")
    assert spec.fold_factor == 8 and parse_model_name("relu").fold_factor == 1
    record = spec.to_dict()
    assert record["name"] == "relog-minmaxout_2_4-sigmoid_out"
    assert record["min_group"] == 2 and record["max_group"] == 4 and record["loss"] == "mse"


def test_dataset_prefix_matching_the_dataset_is_accepted() -> None:
    assert parse_model_name("cnn-mnist-relu", dataset="mnist") == ModelSpec()
    assert parse_model_name("cnn-relu", dataset="cifar10") == ModelSpec()


def grammar_error(name: str, dataset: str | None = None) -> str:
    with pytest.raises(GrammarError) as error:
        parse_model_name(name, dataset)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_grammar_error_is_a_user_error() -> None:
    assert issubclass(GrammarError, UserError)


def test_unknown_token_is_named_with_the_valid_ones() -> None:
    message = grammar_error("relog-nonsense_3")
    assert "'nonsense_3'" in message
    assert "valid tokens" in message and "maxout_<k>" in message and "sigmoid_out" in message


@pytest.mark.parametrize(
    ("name", "bad"),
    [("relog--maxout_4", "(empty token)"), ("relog-maxout_4-", "(empty token)"), ("relog-sigmoid", "sigmoid"),
     ("relog-out", "out"), ("mnist-relu", "mnist"), ("cnn-cnn-relu", "cnn"), ("relog-maxout_x", "maxout_x"),
     ("relog-minmaxout_2", "minmaxout_2"), ("relog-max_fit_l1_-1", "max_fit_l1_"), ("ReLU", "ReLU")],
)
def test_each_bad_token_is_named(name: str, bad: str) -> None:
    assert f"unknown token '{bad}'" in grammar_error(name)


@pytest.mark.parametrize(
    ("name", "kind", "first", "second"),
    [
        ("relu-relog", "activation", "relu", "relog"),
        ("relog-kernel-quadratic", "units", "kernel", "quadratic"),
        ("relog-maxout_4-minmaxout_2_4", "folding", "maxout_4", "minmaxout_2_4"),
        ("relog-sigmoid-out-sigmoid_out", "output", "sigmoid_out", "sigmoid_out"),
        ("relog-bce-bce", "loss", "bce", "bce"),
        ("relog-strictening_0.1-max_fit_l2", "regulariser", "strictening_0.1", "max_fit_l2"),
        ("relog-sigmoid_out-scrambling-overlay", "negatives", "scrambling", "overlay"),
    ],
)
def test_duplicate_kinds_are_an_error(name: str, kind: str, first: str, second: str) -> None:
    message = grammar_error(name)
    assert f"two {kind} tokens, '{first}' and '{second}'" in message


@pytest.mark.parametrize("name", ["maxout_4", "quadratic-sigmoid_out", "cnn-mnist", "cnn", "sigmoid-out"])
def test_missing_activation_is_an_error(name: str) -> None:
    assert "no activation token" in grammar_error(name)


@pytest.mark.parametrize(("name", "token"), [("relog-scrambling", "scrambling"), ("relu-maxout_4-overlay", "overlay")])
def test_negatives_without_sigmoid_out_are_an_error(name: str, token: str) -> None:
    message = grammar_error(name)
    assert f"'{token}'" in message and "sigmoid_out" in message
    assert parse_model_name(f"{name}-sigmoid_out").negatives == token
    assert parse_model_name(f"{name}-bce").negatives == token  # bce implies sigmoid outputs


def test_dataset_prefix_mismatch_is_an_error() -> None:
    message = grammar_error("cnn-mnist-relog-kernel", dataset="cifar10")
    assert "'cnn-mnist-'" in message and "'cifar10'" in message


@pytest.mark.parametrize(
    ("name", "text"),
    [("relog_1", "must be > 1"), ("relog_0.5", "must be > 1"), ("relog-maxout_0", "must be >= 1"),
     ("relog-minmaxout_0_4", "must be >= 1"), ("", "empty model name"), ("   ", "empty model name")],
)
def test_out_of_range_values_and_empty_names_are_errors(name: str, text: str) -> None:
    assert text in grammar_error(name)


# ---- property tests -------------------------------------------------------------------------

_number = st.from_regex(r"[0-9]{1,6}(\.[0-9]{1,6})?", fullmatch=True)  # up to MAX_NUMBER, 1e-05: no exponent form
_relog_base = _number.filter(lambda text: float(text) > 1)
_factor = st.integers(min_value=1, max_value=16).map(str)
_coef_name = st.sampled_from(["max_fit_l1", "max_fit_l2", "max_margin"])

# one strategy per kind, legacy spellings included ("sigmoid-out" is kept as one unit when shuffling)
KIND_TOKENS = {
    "units": st.sampled_from(["quadratic", "kernel", "elliptical", "spherical"]),
    "folding": st.one_of(
        _factor.map(lambda k: f"maxout_{k}"), st.tuples(_factor, _factor).map(lambda ab: f"minmaxout_{ab[0]}_{ab[1]}")
    ),
    "output": st.sampled_from(["sigmoid_out", "sigmoid-out"]),
    "loss": st.just("bce"),
    "regulariser": st.one_of(
        _coef_name,
        st.tuples(_coef_name, _number).map(lambda pair: f"{pair[0]}_{pair[1]}"),
        _number.map(lambda c: f"strictening_{c}"),
    ),
    "negatives": st.sampled_from(["scrambling", "overlay"]),
}
ACTIVATION = st.one_of(st.sampled_from(["relu", "relog"]), _relog_base.map(lambda n: f"relog_{n}"))
PREFIX = st.sampled_from(["", "cnn-", *(f"cnn-{dataset}-" for dataset in DATASET_PREFIXES)])


@st.composite
def grammar_names(draw: st.DrawFn) -> str:
    """A valid name: one activation, any subset of the other kinds, tokens in random order, a random prefix."""
    kinds = draw(st.lists(st.sampled_from(sorted(KIND_TOKENS)), unique=True))
    if "negatives" in kinds and "output" not in kinds and "loss" not in kinds:
        kinds.append("output")
    tokens = [draw(ACTIVATION)] + [draw(KIND_TOKENS[kind]) for kind in kinds]
    return draw(PREFIX) + "-".join(draw(st.permutations(tokens)))


CANONICAL_ORDER = (("relu", "relog"), ("quadratic", "elliptical", "spherical"), ("maxout", "minmaxout"),
                   ("sigmoid_out",), ("bce",), ("max_fit", "max_margin"), ("scrambling", "overlay"))


def kind_rank(token: str) -> int:
    """Position of a canonical token's kind in SPEC §1's fixed order."""
    return next(rank for rank, prefixes in enumerate(CANONICAL_ORDER) if token.startswith(prefixes))


@settings(max_examples=300, deadline=None)
@given(grammar_names())
def test_format_of_parse_is_idempotent_on_grammar_names(name: str) -> None:
    spec = parse_model_name(name)
    canonical = format_model_name(spec)
    assert parse_model_name(canonical) == spec
    assert format_model_name(parse_model_name(canonical)) == canonical
    assert not any(legacy in canonical for legacy in ("cnn", "kernel", "strictening", "sigmoid-out"))
    order = [kind_rank(token) for token in canonical.split("-")]
    assert order == sorted(order) and len(set(order)) == len(order)


_ALL_TOKENS = [
    "relu", "relog", "relog_10", "relog_1", "relog_2.5", "quadratic", "kernel", "elliptical", "spherical", "maxout_4",
    "maxout_0", "minmaxout_2_4", "minmaxout_4_2", "sigmoid_out", "sigmoid", "out", "bce", "max_fit_l1",
    "max_fit_l1_1", "max_fit_l2", "max_fit_l2_0.01", "max_margin", "max_margin_0.5", "strictening_0.1",
    "scrambling", "overlay", "cnn", *DATASET_PREFIXES, "", "_", "1", "relog_", "maxout_",
]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(_ALL_TOKENS), st.text(max_size=12)), max_size=9).map("-".join),
    st.sampled_from([None, *DATASET_PREFIXES]),
)
def test_token_soup_only_raises_grammar_error(name: str, dataset: str | None) -> None:
    try:
        spec = parse_model_name(name, dataset)
    except GrammarError:
        return
    canonical = format_model_name(spec)
    assert parse_model_name(canonical) == spec
    assert format_model_name(parse_model_name(canonical)) == canonical


# ---- out-of-range numbers are grammar errors, never ValueError or inf ----

def test_huge_folding_factor_raises_grammar_error() -> None:
    grammar_error("relog-maxout_" + "9" * 5000)


@pytest.mark.parametrize("name", ["relog_" + "9" * 400, "relog-max_fit_l1_" + "9" * 400])
def test_huge_number_round_trips_or_is_rejected(name: str) -> None:
    try:
        spec = parse_model_name(name)
    except GrammarError:
        return
    assert parse_model_name(format_model_name(spec)) == spec
