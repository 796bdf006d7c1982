"""The strong suite joins every ablation at each table ε, never as a column (issue 21, newlogic.attacks.suite)."""

import copy

import pytest

from newlogic.attacks.catalog import CATALOG
from newlogic.attacks.request import attack_request
from newlogic.attacks.resolve import resolve_setting
from newlogic.attacks.suite import DOUBLED, PROFILES, SUITE_PREFIX, TRANSFER_SOURCE, expand_strong_suite, table_eps
from newlogic.errors import UserError
from newlogic.spec import ModelSpec, parse_model_name
from newlogic.study import ablations
from newlogic.study_loader import load_study, study_from_config

CONFIG = {
    "dataset": "mnist5k",
    "strong_suite": {"profile": "quick", "limit": 40},
    "attacks": {
        "fgsm_0.1": {"attack": "fgsm", "eps": 0.1},
        "bim_0.3": {"attack": "bim", "eps": 0.3, "limit": 100},
        "fgm_l2_2": {"attack": "fgm_l2", "eps": 2.0},
        "cw": {"attack": "cw_l2"},
        "bim_1": {"attack": "bim", "eps": "unbounded"},
        "noise_0.2": {"attack": "uniform_noise", "eps": 0.2},
        "fgsm_z": {"attack": "fgsm", "eps": 0.5, "threat_model": "normalized"},
    },
    "ablations": {"a": {"models": ["relu"]}, "b": {"models": ["relog"], "attacks": ["fgsm_0.1"]}},
}


def _expanded() -> dict:
    """``CONFIG`` as the study loader prepares it: the schema's defaults filled, the strong suite expanded."""
    config = copy.deepcopy(CONFIG)
    study_from_config(config)
    return config


def test_the_suite_runs_at_every_bounded_pixel_eps_of_the_tables_columns() -> None:
    config = _expanded()
    assert table_eps(CONFIG["attacks"], "mnist5k") == [("l2", 2.0), ("linf", 0.1), ("linf", 0.3)]
    suite = ablations(config)["a"].suite
    members = [name for name in PROFILES["quick"] if name]
    for member in members:
        assert f"{SUITE_PREFIX}{member}_linf_0.3" in suite and f"{SUITE_PREFIX}{member}_linf_0.1" in suite
        twin = f"{SUITE_PREFIX}{member}_linf_0.3{DOUBLED}"
        assert (twin in suite) == (CATALOG[PROFILES["quick"][member]["attack"]].budget is not None)
        assert f"{SUITE_PREFIX}{member}_linf_0.1{DOUBLED}" not in suite  # twins at each norm's largest ε only
    assert f"{SUITE_PREFIX}apgd_l2_2" in suite and f"{SUITE_PREFIX}square_l2_2" not in suite
    assert not any("_1" in name.removeprefix(SUITE_PREFIX).split("_")[-1] for name in suite)  # no unbounded ε
    assert all(config["attacks"][name]["limit"] == 40 for name in suite)
    assert set(ablations(config)["b"].suite) == {
        f"{SUITE_PREFIX}{member}_linf_0.1{twin}" for member in members for twin in ("", DOUBLED)
        if not twin or CATALOG[PROFILES["quick"][member]["attack"]].budget is not None}


def test_suite_settings_are_evaluated_but_never_columns() -> None:
    ablation = ablations(_expanded())["a"]
    assert ablation.settings == tuple(CONFIG["attacks"])
    assert ablation.evaluated == ablation.settings + ablation.suite


def test_every_suite_setting_resolves_and_its_twin_has_twice_the_budget() -> None:
    config = _expanded()
    for name in ablations(config)["a"].suite:
        if name.endswith(DOUBLED) or name + DOUBLED not in config["attacks"]:
            continue
        single, double = (resolve_setting(attack_request(n, config["attacks"][n]).attack, "mnist5k")
                          for n in (name, name + DOUBLED))
        budget = CATALOG[single.name].budget
        assert budget is not None and budget(double.params) == 2 * budget(single.params), name
        assert single.eps == double.eps and single.norm == double.norm


def test_expansion_is_idempotent_and_refuses_a_foreign_suite_id() -> None:
    config = _expanded()
    again = copy.deepcopy(config)
    expand_strong_suite(again)
    assert again == config
    config["attacks"]["suite_mine"] = {"attack": "fgsm"}
    with pytest.raises(UserError, match="suite_mine start with 'suite_'"):
        expand_strong_suite(config)


def test_a_bad_profile_or_setting_is_one_line() -> None:
    with pytest.raises(UserError, match="strong_suite.profile 'huge' is not valid; valid: standard, quick"):
        expand_strong_suite({**copy.deepcopy(CONFIG), "strong_suite": {"profile": "huge"}})
    bad = copy.deepcopy(CONFIG)
    bad["attacks"]["fgsm_0.1"]["eps"] = 7
    with pytest.raises(UserError, match="attack setting 'fgsm_0.1': attack fgsm: eps 7"):
        expand_strong_suite(bad)


@pytest.mark.parametrize("path", ["config/config.yaml", "config/mnist5k.yaml", "config/paper-mnist.yaml",
                                  "config/paper-cifar10.yaml", "config/journal-mnist.yaml",
                                  "config/journal-cifar10.yaml"])
def test_every_shipped_config_gives_every_ablation_the_suite(path: str) -> None:
    for name, ablation in load_study(path).ablations.items():
        assert ablation.suite, name


def test_the_transfer_member_crafts_on_the_softmax_baseline_at_every_eps_in_both_norms() -> None:
    config = _expanded()
    pairs = table_eps(CONFIG["attacks"], "mnist5k")
    suite = ablations(config)["a"].suite
    for norm, eps in pairs:
        name = f"{SUITE_PREFIX}transfer_{norm}_{eps:g}"
        assert name in suite and name + DOUBLED not in suite
        request = attack_request(name, config["attacks"][name], "mnist5k")
        assert request.surrogate == TRANSFER_SOURCE == "relu"
        assert parse_model_name(TRANSFER_SOURCE) == ModelSpec(activation="relu", units="linear", output="softmax",
                                                              loss="ce")
        resolved = resolve_setting(request.attack, "mnist5k")
        assert resolved.entry.needs_surrogate and resolved.base is not None
        assert resolved.base.name == "apgd_max_loss" and resolved.base.params["loss"] == "ce"
        assert (resolved.norm, resolved.eps) == (norm, eps)
    # an ablation without the baseline (b: relog only) still gets the transfer, from the same config's relu
    assert f"{SUITE_PREFIX}transfer_linf_0.1" in ablations(config)["b"].suite


def test_square_is_a_real_gradient_free_check_in_both_profiles() -> None:
    assert PROFILES["quick"]["square"]["square_queries"] >= 1000
    assert PROFILES["standard"]["square"]["square_queries"] == 5000
    for profile in PROFILES.values():
        assert set(profile["apgd"]["components"]) == {"apgd-dlr", "apgd-t"}  # scale-free losses only
