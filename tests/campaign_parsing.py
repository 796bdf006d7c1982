"""Campaign cases of the classes "text" and "numbers and parsing" (issue 30): each ends in one line, or renders inert.

*text*: labels, headers and captions holding a formula, a Markdown link or image, NUL and ESC, a bidi
override or a zero-width space; refused at the dry run's checks (``newlogic.validation``) or written
inert (``newlogic.report.escape``). *numbers and parsing*: seeds beyond 2**32 - 1 and 2**64, ``²``,
``1e308`` epochs, non-finite environment variables, duplicate JSON keys, a 300-character folder, a
YAML alias bomb, and result files whose JSON or ``.npz`` lacks a field or has the wrong shape (read by
``newlogic.store.results``).
"""

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from bad_inputs_campaign import (
    BASE_CONFIG,
    Build,
    Case,
    Workspace,
    _edit_json,
    _seed_dir,
    _set,
    _table,
    aggregate,
    attack,
    config,
    evaluate,
    fgsm,
    train,
)

from newlogic.store.results import sha256_file

TEXT, NUMBERS = "text", "numbers and parsing"
# ½ KB of YAML whose aliases stand for 9**12 ≈ 2.8e11 nodes (the "billion laughs")
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefghijkl", "bcdefghijklm", strict=True))
FLOW_ALIAS_BOMB = "[&a [x, x, x, x, x, x, x, x, x], " + ", ".join(  # the same on one line: a --param value
    f"&{name} [{', '.join([f'*{previous}'] * 9)}]" for previous, name in zip("abcdefghijkl", "bcdefghijklm",
                                                                             strict=True)) + "]"


def _env(**variables: str) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    return lambda: mock.patch.dict(os.environ, variables)


def _labels(*labels: str) -> Callable[[dict[str, Any]], None]:
    """The base config's ablation with one model per label (relu, relog, relog-maxout_4, …)."""
    models = ["relu", "relog", "relog-maxout_4", "relog-minmaxout_4"]

    def change(loaded: dict[str, Any]) -> None:
        loaded["ablations"]["demo"]["models"] = [{"name": name, "label": label}
                                                 for name, label in zip(models, labels, strict=False)]

    return change


def rendered_holds(expected: dict[str, tuple[str, ...]], forbidden: tuple[str, ...] = (), *, label: str = "Baseline",
                   header: str = "FGSM", caption: str = "") -> Build:
    """Render a table holding the payload to ``demo.{ext}``: each file holds every expected text, no forbidden one."""
    def build(_workspace: Workspace, case_dir: Path) -> Callable[[], int]:
        def probe() -> int:
            from newlogic.report.tables import RENDERERS

            table = _table(label, header, caption)
            wrong = []
            for ext, wanted in expected.items():
                path = case_dir / f"demo.{ext}"
                path.write_bytes(RENDERERS[ext].render(table).encode())
                text = path.read_bytes().decode()
                wrong += [f"demo.{ext} lacks {want!r}" for want in wanted if want not in text]
                wrong += [f"demo.{ext} holds {bad!r}" for bad in forbidden if bad in text]
            sys.stderr.write("".join(f"{line}\n" for line in wrong))
            return 1 if wrong else 0

        return probe

    return build


def _end_time_ignored(value: str) -> Build:
    """``slurm_end_time`` with a hostile ``$SLURM_JOB_END_TIME``: no deadline from it, a warning, no traceback."""
    def build(_workspace: Workspace, _case_dir: Path) -> Callable[[], int]:
        def probe() -> int:
            from newlogic.training.checkpoint import slurm_end_time

            end = slurm_end_time({"SLURM_JOB_END_TIME": value})
            if end is not None:
                sys.stderr.write(f"SLURM_JOB_END_TIME={value!r} gave the deadline {end}\n")
                return 1
            return 0

        return probe

    return build


def _config_file(text: str) -> Build:
    """``newlogic aggregate`` of the config ``text`` (read before any result)."""
    def build(_workspace: Workspace, case_dir: Path) -> list[str]:
        path = case_dir / "config.yaml"
        path.write_text(text)
        return ["aggregate", "--config", str(path), "--ablation", "demo", "--results-dir", str(case_dir / "R"),
                "--out-dir", str(case_dir / "tables")]

    return build


def _train_overrides(training: str) -> Build:
    """``newlogic train`` with ``--training training`` and no ``--epochs`` (which would override it)."""
    def build(_workspace: Workspace, case_dir: Path) -> list[str]:
        return ["train", "--dataset", "digits", "--model", "relu", "--out", str(case_dir / "train_out"),
                "--training", training, "--device", "cpu", "--data-dir", str(case_dir)]

    return build


def _long_folder(_workspace: Workspace, case_dir: Path) -> list[str]:
    return ["train", "--dataset", "digits", "--model", "relu", "--out", str(case_dir / ("x" * 300) / "model"),
            "--epochs", "1", "--device", "cpu", "--data-dir", str(case_dir)]


def _fgsm_json(results: Path) -> Path:
    return _seed_dir(results) / "fgsm_0.1.json"


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda record: record.pop(key)


def _assign(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda record: record.update({key: value})


def _npz_array(name: str, value: Any) -> Callable[[Path], None]:
    """Replace array ``name`` of ``fgsm_0.1.npz`` with ``value``, the JSON's hash updated (a consistent forgery)."""
    def edit(results: Path) -> None:
        npz = _fgsm_json(results).with_suffix(".npz")
        with np.load(npz) as stored:
            arrays = {key: stored[key] for key in stored.files}
        arrays[name] = value
        np.savez(npz, **arrays)
        _edit_json(_fgsm_json, _assign("samples_sha256", sha256_file(npz)))(results)

    return edit


def _duplicate_key(results: Path) -> None:
    path = _fgsm_json(results)
    path.write_text(path.read_text().replace('"complete": true', '"complete": true, "complete": true', 1))


PARSING_CASES: tuple[Case, ...] = (
    # text: what a reader sees is what the config says, and nothing in it acts
    Case("label =1+2 in the CSV", TEXT,
         rendered_holds({"csv": (",'=1+2,",)}, (",=1+2,",), label="=1+2"),
         "", expect="escaped", injection=True),
    Case("label ![x](url) in the Markdown", TEXT,
         rendered_holds({"md": (r"!\[x\](http://evil.example/a.png)",)}, ("![x](",),
                        label="![x](http://evil.example/a.png)"), "", expect="escaped", injection=True),
    Case("caption [link](url) in the Markdown", TEXT,
         rendered_holds({"md": (r"\[click\](http://evil.example)",)}, ("[click](",),
                        caption="[click](http://evil.example)"), "", expect="escaped", injection=True),
    Case("NUL and ESC in a label", TEXT,
         rendered_holds({"md": (r"ab\[2Jc",), "tex": ("ab[2Jc",)}, ("\x00", "\x1b"), label="a\x00b\x1b[2Jc"),
         "", expect="escaped", injection=True),
    Case("U+202E in a rendered label", TEXT,
         rendered_holds({"md": ("x12.5",), "tex": ("x12.5",)}, ("\u202e",), label="x\u202e12.5"), "",
         expect="escaped", injection=True),
    Case("C&W in Markdown", TEXT, rendered_holds({"md": ("| C&W |",)}, ("C&amp;W",), header="C&W"), "",
         expect="escaped"),
    Case("U+202E in a config label", TEXT, config(_labels("Baseline", "x\u202e21")), "U+202E"),
    Case("U+2066 in a caption", TEXT, config(_set("ablations/demo/caption", "a \u2066b")), "U+2066"),
    Case("labels differing by a zero-width space", TEXT, config(_labels("Baseline", "Base\u200bline")), "U+200B"),
    Case("labels equal once NFKC", TEXT, config(_labels("MaxOut", "\uff2daxOut")), "read the same"),
    Case("ESC in a setting label", TEXT, config(_set("attacks/fgsm_0.1/label", "FGSM\x1b[8m")), "U+001B"),
    # numbers and parsing: integers are integers, floats finite, keys once, sizes bounded
    Case("--seed above 2**64", NUMBERS, train("--seed", "18446744073709551617"), "18446744073709551617"),
    Case("--seed 2**64", NUMBERS, attack("--seed", "18446744073709551616"), "18446744073709551616"),
    Case("--seed ²", NUMBERS, train("--seed", "²"), "'²'"),
    Case("--seed 1e30", NUMBERS, train("--seed", "1e30"), "1e+30"),
    Case("epochs 1e308 in a config", NUMBERS, config(_set("training/epochs", 1e308)), "training.epochs"),
    Case("epochs 1e308 in --training", NUMBERS, _train_overrides('{"epochs": 1e308}'), "epochs"),
    Case("--stop-margin inf", NUMBERS, train("--stop-margin", "inf"), "--stop-margin"),
    Case("NEWLOGIC_STOP_MARGIN=inf", NUMBERS, train(), "NEWLOGIC_STOP_MARGIN", patch=_env(NEWLOGIC_STOP_MARGIN="inf")),
    Case("NEWLOGIC_PROGRESS_SECONDS=inf", NUMBERS, fgsm(), "NEWLOGIC_PROGRESS_SECONDS",
         patch=_env(NEWLOGIC_PROGRESS_SECONDS="inf")),
    Case("SLURM_JOB_END_TIME=²", NUMBERS, _end_time_ignored("²"), "", expect="ok"),
    Case("SLURM_JOB_END_TIME of 400 digits", NUMBERS, _end_time_ignored("9" * 400), "", expect="ok"),
    Case("duplicate key in --settings", NUMBERS,
         evaluate('{"fgsm_0.1": {"attack": "fgsm", "eps": 0.1}, "fgsm_0.1": {"attack": "fgsm", "eps": 0.3}}'),
         "given twice"),
    Case("duplicate key in --training", NUMBERS, train("--training", '{"epochs": 1, "epochs": 2}'), "given twice"),
    Case("NaN in --setting", NUMBERS, attack("--setting", '{"attack": "fgsm", "eps": NaN}'), "eps"),
    Case("300-character folder", NUMBERS, _long_folder, "too long"),
    Case("YAML alias bomb of ½ KB", NUMBERS, _config_file(BASE_CONFIG + ALIAS_BOMB), "aliases"),
    Case("alias bomb in --param", NUMBERS, attack("--attack", "fgsm", "--param", "eps=" + FLOW_ALIAS_BOMB), "aliases"),
    Case("result without batch_adv_accuracies", NUMBERS,
         aggregate(_edit_json(_fgsm_json, _drop("batch_adv_accuracies"))), "batch_adv_accuracies", needs="collector"),
    Case("result with n = 0", NUMBERS, aggregate(_edit_json(_fgsm_json, _assign("sample_count", 0))), "sample_count",
         needs="collector"),
    Case("samples_file in another folder", NUMBERS,
         aggregate(_edit_json(_fgsm_json, _assign("samples_file", "../../../noise/x.npz"))), "samples_file",
         needs="collector"),
    Case("a float as an .npz array", NUMBERS, aggregate(_npz_array("adv_correct", np.float64(0.5))), "adv_correct",
         needs="collector"),
    Case("a 0-d .npz array", NUMBERS, aggregate(_npz_array("index", np.array(3))), "'index'", needs="collector"),
    Case("a key twice in a result JSON", NUMBERS, aggregate(_duplicate_key), "given twice", needs="collector"),
)
