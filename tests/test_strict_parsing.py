"""One strict parser for numbers, arguments, JSON, YAML and result files: each bad value is one line (issue 30)."""

import json
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pytest
from result_fixtures import fake_result

from newlogic.cli import main
from newlogic.config_file import MAX_SEED, MAX_YAML_NODES, load_yaml, parse_config_text, parse_json_text
from newlogic.errors import UserError
from newlogic.numbers import parse_decimal, parse_int, seconds_from_env
from newlogic.options import AT_LEAST_ONE, Range, coerce
from newlogic.store.json_file import read_json_object
from newlogic.store.results import read_result, sha256_file

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefghijkl", "bcdefghijklm", strict=True))


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("42", 42), ("-7", -7), ("+3", 3),
                                             ("18446744073709551617", 18446744073709551617)])
def test_integers_are_read_exactly(text: str, value: int) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize("text", ["²", "١٢", "1_0", "1.0", "1e3", " 1", "", "0x10", "9" * 101])
def test_anything_else_is_no_integer(text: str) -> None:
    assert parse_int(text) is None


@pytest.mark.parametrize(("text", "value"), [("1e-3", 1e-3), ("-0.5", -0.5), (".5", 0.5), ("3.", 3.0), ("12", 12.0)])
def test_decimals_in_ascii_notation_are_numbers(text: str, value: float) -> None:
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "١٢", "1_0", "²", "0x1p3", "1e", ""])
def test_nan_inf_and_unicode_digits_are_no_decimal(text: str) -> None:
    assert parse_decimal(text) is None


@pytest.mark.parametrize(("value", "hint", "says"), [
    (1e308, int, "integer written in digits"),
    ("1e308", int, "integer written in digits"),
    (2.0**53 + 2, int, "integer written in digits"),
    (2**64, int, "at most 64 bits"),
    (10**4000, int, "about 4000 digits"),
    (10**400, float, "finite number"),
    ("1e400", float, "finite number"),
    ("inf", float, "must be float"),
    ("²", int, "must be int"),
    (0.5, int, "must be int"),
    (True, int, "must be int"),
    (MAX_SEED + 1, Annotated[int, Range(0, MAX_SEED)], r"in \[0, 4294967295\]"),
    (0, Annotated[int, AT_LEAST_ONE], ">= 1"),
])
def test_coerce_refuses_inexact_infinite_and_oversized_numbers_in_one_line(value, hint, says: str) -> None:
    with pytest.raises(UserError, match=says) as error:
        coerce(value, hint, "training.epochs")
    assert str(error.value).startswith("training.epochs") and "\n" not in str(error.value)


@pytest.mark.parametrize(("value", "hint", "result"), [
    ("5", int, 5), (5.0, int, 5), (2.0**53, int, 2**53), ("1e-3", float, 1e-3), (3, float, 3.0),
    (MAX_SEED, Annotated[int, Range(0, MAX_SEED)], MAX_SEED),
])
def test_coerce_keeps_what_is_exact(value, hint, result) -> None:
    converted = coerce(value, hint, "x")
    assert converted == result and type(converted) is type(result)


@pytest.mark.parametrize(("seed", "says"), [
    ("18446744073709551617", "18446744073709551617"), ("18446744073709551616", "18446744073709551616"),
    ("4294967296", "4294967295"), ("²", "'²'"), ("1e30", "1e+30"), ("-1", "-1")])
def test_a_seed_outside_0_to_2_32_is_refused_on_the_command_line(seed: str, says: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["inspect", "depth", "--seed", seed, "--layers", "1", "--width", "2"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(lines) == 1 and "--seed" in lines[0] and says in lines[0]


def test_the_largest_seed_passes_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "depth", "--seed", str(MAX_SEED), "--layers", "1", "--width", "2"]) == 0


@pytest.mark.parametrize(("text", "says"), [
    ('{"a": 1, "a": 2}', "key 'a' given twice"),
    ('{"x": {"a": 1, "a": 1}}', "key 'a' given twice"),
    ('{"a": NaN}', "NaN is not a finite number"),
    ('{"a": -Infinity}', "-Infinity is not a finite number"),
    ('{"a": 1e400}', "1e400 is not a finite number"),
    ('{"a": ' + "9" * 5000 + "}", "not valid JSON"),
    ("[" * 100_000, "nested too deeply"),
    ('{"a": ', "not valid JSON"),
])
def test_json_is_read_strictly(text: str, says: str) -> None:
    with pytest.raises(UserError, match=says) as error:
        parse_json_text(text, "--settings")
    assert str(error.value).startswith("--settings") and "\n" not in str(error.value)


def test_a_json_argument_leaves_non_finite_numbers_to_the_reader_that_names_the_key() -> None:
    assert parse_json_text('{"lr": 1e400}', "--training", finite=False) == {"lr": float("inf")}
    with pytest.raises(UserError, match="given twice"):
        parse_json_text('{"lr": 1, "lr": 2}', "--training", finite=False)
    with pytest.raises(UserError, match="training.lr must be a finite number"):
        coerce(parse_json_text('{"lr": NaN}', "--training", finite=False)["lr"], float, "training.lr")


def test_a_json_file_with_a_key_twice_names_the_file_and_the_remedy(tmp_path: Path) -> None:
    path = tmp_path / "checks.json"
    path.write_text('{"verdict": "reliable", "verdict": "weak attack"}')
    with pytest.raises(UserError, match=r"checks\.json: key 'verdict' given twice in one object; keep one") as error:
        read_json_object(path, "run it again")
    assert str(error.value).endswith("; run it again")


def test_a_yaml_alias_bomb_fails_fast_in_one_line() -> None:
    assert len(BOMB) < 1024
    started = time.perf_counter()
    with pytest.raises(UserError, match=f"expand to more than {MAX_YAML_NODES:,} nodes") as error:
        parse_config_text(BOMB, "config file bomb.yaml")
    assert time.perf_counter() - started < 1.0 and "\n" not in str(error.value)


def test_a_few_aliases_still_read_and_a_self_containing_one_is_refused() -> None:
    assert load_yaml("a: &x [1, 2]\nb: *x\n", "x") == {"a": [1, 2], "b": [1, 2]}
    with pytest.raises(UserError, match="inside its own anchor"):
        load_yaml("a: &x [*x]\n", "--param eps")
    started = time.perf_counter()
    with pytest.raises(UserError, match="brackets nested 100000 deep"):
        load_yaml("[" * 100_000, "x")
    assert time.perf_counter() - started < 1.0
    assert load_yaml("[" * 150 + "]" * 150, "x") is not None
    with pytest.raises(UserError, match="too long to read"):
        load_yaml("a: " + "9" * 5000, "x")


def test_no_shipped_config_uses_aliases() -> None:
    import yaml

    configs = sorted(Path(__file__).resolve().parents[1].glob("config/**/*.yaml"))
    assert configs
    for path in configs:
        tokens = yaml.scan(path.read_text(), Loader=yaml.SafeLoader)
        assert not any(isinstance(token, yaml.AliasToken | yaml.AnchorToken) for token in tokens), path


@pytest.mark.parametrize("text", ["inf", "nan", "-1", "0", "1e400", "²", "1_0", "soon", "100000"])
def test_seconds_from_the_environment_are_finite_and_bounded(text: str) -> None:
    with pytest.raises(UserError, match=rf"^\$NEWLOGIC_PROGRESS_SECONDS='{text}': expected seconds, a number in "):
        seconds_from_env({"NEWLOGIC_PROGRESS_SECONDS": text}, "NEWLOGIC_PROGRESS_SECONDS", 30.0, 0.001, 86_400.0)
    assert seconds_from_env({}, "NEWLOGIC_PROGRESS_SECONDS", 30.0, 0.001, 86_400.0) == 30.0
    assert seconds_from_env({"NEWLOGIC_PROGRESS_SECONDS": "0.05"}, "NEWLOGIC_PROGRESS_SECONDS", 30.0, 0.001, 86_400) \
        == 0.05


def test_progress_interval_reads_the_variable_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    from newlogic.progress_log import progress_interval

    monkeypatch.setenv("NEWLOGIC_PROGRESS_SECONDS", "inf")
    with pytest.raises(UserError, match="NEWLOGIC_PROGRESS_SECONDS"):
        progress_interval()
    monkeypatch.setenv("NEWLOGIC_PROGRESS_SECONDS", "2.5")
    assert progress_interval() == 2.5


@pytest.mark.parametrize("text", ["inf", "nan", "1e400", "-1", "²"])
def test_a_stop_margin_must_be_finite(text: str) -> None:
    from newlogic.training.checkpoint import stop_margin

    with pytest.raises(UserError, match="expected seconds, a number >= 0"):
        stop_margin(None, {"NEWLOGIC_STOP_MARGIN": text})
    with pytest.raises(UserError, match="--stop-margin"):
        stop_margin(float("inf"), {})


@pytest.mark.parametrize("text", ["²", "١٢٣", "9" * 400, "-5", "1.5e9", "0", "999999999999999"])
def test_a_hostile_slurm_end_time_is_ignored_with_one_warning(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    from newlogic.training.checkpoint import slurm_end_time

    assert slurm_end_time({"SLURM_JOB_END_TIME": text, "SLURM_JOB_ID": "²"}) is None
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "ignoring $SLURM_JOB_END_TIME" in lines[0]
    assert slurm_end_time({"SLURM_JOB_END_TIME": "1900000000"}) == 1_900_000_000


def test_a_300_character_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["inspect", "depth", "--layers", "1", "--width", "2", "--out", str(tmp_path / ("x" * 300) / "d.json")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "too long" in lines[0] and "255 bytes" in lines[0]


def _result(tmp_path: Path) -> Path:
    return fake_result(tmp_path / "fgsm.json", [1, 0, 1], attack="fgsm", eps=0.3)


def _edit(path: Path, **fields: object) -> None:
    data = json.loads(path.read_text())
    for key, value in fields.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("fields", "says"), [
    ({"batch_adv_accuracies": None}, "batch_adv_accuracies is None, not a non-empty list"),
    ({"batch_clean_accuracies": [0.5, "x"]}, "batch_clean_accuracies"),
    ({"batch_adv_accuracies": []}, "batch_adv_accuracies"),
    ({"sample_count": 0}, "sample_count 0 is not a positive integer"),
    ({"sample_count": 3.0}, "sample_count 3.0"),
    ({"setting": ["x"]}, "setting"),
    ({"samples_file": "../other/fgsm.npz"}, "samples_file '../other/fgsm.npz' is not fgsm.npz"),
    ({"samples_file": "/etc/passwd"}, "samples_file"),
])
def test_a_result_json_of_the_wrong_shape_is_refused_before_use(fields: dict, says: str, tmp_path: Path) -> None:
    path = _result(tmp_path)
    _edit(path, **fields)
    with pytest.raises(UserError, match=says.replace("[", r"\[").replace(".", r"\.")) as error:
        read_result(path, ("adv_correct",))
    assert "\n" not in str(error.value) and "fgsm.json" in str(error.value)


@pytest.mark.parametrize(("array", "value"), [
    ("adv_correct", np.float64(0.5)), ("adv_correct", np.array(True)), ("index", np.zeros((3, 2))),
    ("adv_correct", np.array(["a", "b", "c"])),
])
def test_an_npz_array_that_is_not_one_number_per_sample_is_refused(array: str, value: np.ndarray,
                                                                  tmp_path: Path) -> None:
    path = _result(tmp_path)
    npz = path.with_suffix(".npz")
    with np.load(npz) as stored:
        arrays = {key: stored[key] for key in stored.files}
    np.savez(npz, **{**arrays, array: value})
    _edit(path, samples_sha256=sha256_file(npz))
    with pytest.raises(UserError, match=f"array '{array}' of fgsm.npz has shape") as error:
        read_result(path, ("index", "adv_correct"))
    assert "\n" not in str(error.value)
