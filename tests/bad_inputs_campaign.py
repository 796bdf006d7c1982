"""The bad-input campaign (issue 11): names, flags, configs and files that must each end in one line and exit 2.

Every case is a ``newlogic`` command line run in-process (``newlogic.cli.main``), or a workflow config
read by the study loader (``newlogic.study_loader.study_from_config``: the schema and its defaults, then
``newlogic.validation.validate_config``; what ``snakemake -n`` runs at parse time). A case is
*clean* when it exits with code 2 (a config: raises ``UserError``), prints no traceback, prints exactly
one line on stderr, that line names the bad value (``Case.names``), and no complete result is written
(no ``complete: true`` result at ``out.json``, no ``metrics.json`` in ``train_out/``).

Issue 22 adds classes of untrusted input (``injection``, ``paths``, ``wrong tables``, ``values``,
``interruption``, ``read-only``, ``tracebacks``). Their cases may be *probes*: a function run in-process,
or a ``snakemake -n`` of a config (``dry_run``), whose exit code and stderr are judged the same way.
A case's ``expect`` says what clean means: ``refused`` (exit 2, one line naming the value, nothing
written), ``ok`` (the command does its job: exit 0, no traceback; a probe checks the outputs) or
``escaped`` (the text is rendered, and the rendered bytes are exactly the escaped text). Cases marked
``injection`` also count in ``injection_blocked``; ``needs="collector"`` marks the cases that rely on
the verified collector (``newlogic.report.collect``, issue 22 item 4).

Run as a script, it trains its tiny model (digits, 1 epoch), runs every case and prints
``bad_inputs_clean N/M`` and ``injection_blocked N/M`` (exit 1 unless all are clean)::

    OMP_NUM_THREADS=1 .venv-test/bin/python tests/bad_inputs_campaign.py
"""

import contextlib
import errno
import functools
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_datasets import write_fake_cifar10, write_fake_mnist  # noqa: E402
from slurm_venv import slurm_environ, slurm_snakemake  # noqa: E402

from newlogic.cli import main  # noqa: E402
from newlogic.errors import UserError  # noqa: E402
from newlogic.nn.models import ArchOptions, build_model  # noqa: E402
from newlogic.spec import parse_model_name  # noqa: E402
from newlogic.store.lock import output_lock  # noqa: E402
from newlogic.store.paths import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE  # noqa: E402
from newlogic.study_loader import study_from_config  # noqa: E402

MODEL = "relog-maxout_4"
DEMO_CONFIG = ROOT / "config" / "config.yaml"  # the workflow's default config: the dry-run tests change it


@dataclass(frozen=True)
class Workspace:
    """The campaign's trained model directory ``model`` (read-only for the cases) and a scratch ``root``."""

    model: Path
    root: Path

    def model_copy(self, case_dir: Path, edit: Callable[[Path], None]) -> Path:
        """A copy of the trained model directory in ``case_dir``, changed by ``edit(copy)``."""
        copy = case_dir / "model"
        shutil.copytree(self.model, copy)
        edit(copy)
        return copy


@dataclass(frozen=True)
class Case:
    """One bad input: ``build(workspace, case_dir)`` prepares it and returns a command line or a workflow config.

    ``names`` is text the one error line must contain; ``patch``, when given, is active while the command runs.
    """

    name: str
    kind: str  # names, flags, configs, files, or an issue-22 class (INJECTION, PATHS, ...)
    build: Callable[[Workspace, Path], list[str] | dict[str, Any] | Callable[[], int]]
    names: str
    patch: Callable[[], contextlib.AbstractContextManager[Any]] | None = None
    expect: str = "refused"  # refused, ok (the command does its job) or escaped (rendered, escaped byte for byte)
    injection: bool = False  # counts in injection_blocked
    needs: str = ""  # "collector": relies on newlogic.report.collect (issue 22 item 4)


@dataclass(frozen=True)
class Outcome:
    """What a case did: exit code (None: an exception escaped), stderr, and whether a complete result appeared."""

    code: int | None
    stderr: str
    wrote_result: bool

    def problems(self, case: Case) -> list[str]:
        """Why the case is not clean (empty: clean)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        found = []
        if case.expect != "refused":
            if self.code != 0:
                found.append(f"exit code {self.code}, expected 0 ({(lines or [''])[-1][:200]})")
            if "Traceback" in self.stderr:
                found.append("a traceback")
            return found
        if self.code != 2:
            found.append(f"exit code {self.code}, expected 2")
        if "Traceback" in self.stderr:
            found.append("a traceback")
        if len(lines) != 1:
            found.append(f"{len(lines)} lines on stderr, expected 1")
        if not any(case.names in line for line in lines):
            found.append(f"no line names {case.names!r}")
        if self.wrote_result:
            found.append("a complete result was written")
        return found


def _wrote_result(case_dir: Path) -> bool:
    result = case_dir / "out.json"
    if result.is_file():
        try:
            if json.loads(result.read_text()).get("complete") is True:
                return True
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            pass
    return (case_dir / "train_out" / METRICS_FILE).is_file()


def run_case(case: Case, workspace: Workspace, case_dir: Path) -> Outcome:
    """Prepare and run ``case`` in-process, capturing stderr (and swallowing stdout)."""
    case_dir.mkdir(parents=True, exist_ok=True)
    built = case.build(workspace, case_dir)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()), \
            (case.patch() if case.patch else contextlib.nullcontext()):
        try:
            if isinstance(built, dict):
                code = _validate(built, stderr)
            elif callable(built):
                code = built()
            else:
                code = main(built)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 2
        except Exception:  # an escaped exception is what the campaign looks for: record it
            code = None
            stderr.write(traceback.format_exc())
    return Outcome(code, stderr.getvalue(), _wrote_result(case_dir))


def _validate(config: dict[str, Any], stderr: io.StringIO) -> int:
    """The study loader as the workflow runs it: a UserError is one line (``config error: …``) and a failure."""
    try:
        study_from_config(config)
    except UserError as error:
        stderr.write(f"config error: {error}\n")
        return 2
    return 0


# ---- command lines ---------------------------------------------------------------------------------------

def train(*extra: str, model: str = MODEL) -> Callable[[Workspace, Path], list[str]]:
    """``newlogic train`` of ``model`` on digits into ``case_dir/train_out`` with ``extra`` arguments."""
    def build(_workspace: Workspace, case_dir: Path) -> list[str]:
        return ["train", "--dataset", "digits", "--model", model, "--out", str(case_dir / "train_out"),
                "--epochs", "1", "--device", "cpu", "--data-dir", str(case_dir), *extra]

    return build


def attack(*extra: str, edit: Callable[[Path], None] | None = None) -> Callable[[Workspace, Path], list[str]]:
    """``newlogic attack`` on the trained model (a copy changed by ``edit``) into ``case_dir/out.json``."""
    def build(workspace: Workspace, case_dir: Path) -> list[str]:
        model = workspace.model if edit is None else workspace.model_copy(case_dir, edit)
        return ["attack", "--model-dir", str(model), "--out", str(case_dir / "out.json"), "--limit", "20",
                "--device", "cpu", *extra]

    return build


def fgsm(*extra: str) -> Callable[[Workspace, Path], list[str]]:
    return attack("--attack", "fgsm", *extra)


def with_param(name: str, *params: str) -> Callable[[Workspace, Path], list[str]]:
    """An attack ``name`` with ``--param`` overrides."""
    return attack("--attack", name, *(part for param in params for part in ("--param", param)))


# ---- files -----------------------------------------------------------------------------------------------

def _write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda model_dir: (model_dir / name).write_bytes(content)


def _truncate(name: str, keep: float) -> Callable[[Path], None]:
    def edit(model_dir: Path) -> None:
        data = (model_dir / name).read_bytes()
        (model_dir / name).write_bytes(data[: int(len(data) * keep)])

    return edit


def _edit_config(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def edit(model_dir: Path) -> None:
        record = json.loads((model_dir / CONFIG_FILE).read_text())
        change(record)
        (model_dir / CONFIG_FILE).write_text(json.dumps(record))

    return edit


class _Hostile:
    """A pickle that would run a command when loaded without ``weights_only``."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("pwned",))


def _hostile_weights(model_dir: Path) -> None:
    (model_dir / WEIGHTS_FILE).write_bytes(pickle.dumps({"classifier.0.weight": _Hostile()}))


def _other_weights(model_dir: Path) -> None:
    """Weights of another architecture (``relu``, no folding): shapes differ from ``relog-maxout_4``'s."""
    from newlogic.data import dataset_info

    model = build_model(parse_model_name("relu"), dataset_info("digits"), ArchOptions())
    torch.save(model.state_dict(), model_dir / WEIGHTS_FILE)


def _nan_weights(model_dir: Path) -> None:
    """Weights of the right shapes, all NaN (what a diverged run used to leave as a finished model)."""
    state = torch.load(model_dir / WEIGHTS_FILE, weights_only=True)
    torch.save({key: value.float().fill_(float("nan")) if value.is_floating_point() else value
                for key, value in state.items()}, model_dir / WEIGHTS_FILE)


def _rename_model(record: dict[str, Any]) -> None:
    record["model"]["name"] = "relog_2-maxout_4"


def _edit_architecture(record: dict[str, Any]) -> None:
    record["architecture"]["batchnorm"] = True


def rerun_train(edit: Callable[[Path], None]) -> Callable[[Workspace, Path], list[str]]:
    """``newlogic train`` again into a copy of the trained model's directory changed by ``edit``."""
    def build(workspace: Workspace, case_dir: Path) -> list[str]:
        model = workspace.model_copy(case_dir, edit)
        return ["train", "--dataset", "digits", "--model", MODEL, "--out", str(model), "--epochs", "1",
                "--device", "cpu"]

    return build


def _bad_mnist_labels(_workspace: Workspace, case_dir: Path) -> list[str]:
    write_fake_mnist(case_dir, n_train=40, n_test=20)
    labels = case_dir / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    data = bytearray(labels.read_bytes())
    data[8 + 3] = 12  # the 4th test label: class 12 of 10
    labels.write_bytes(bytes(data))
    return ["train", "--dataset", "mnist", "--model", "relu", "--out", str(case_dir / "train_out"),
            "--epochs", "1", "--device", "cpu", "--data-dir", str(case_dir)]


def _bad_cifar_labels(_workspace: Workspace, case_dir: Path) -> list[str]:
    write_fake_cifar10(case_dir, n_train=20, n_test=10)
    batch = case_dir / "cifar-10-batches-py" / "test_batch"
    with batch.open("rb") as file:
        entry = pickle.load(file, encoding="latin1")
    entry["labels"][2] = 10  # class 10 of 10
    batch.write_bytes(pickle.dumps({"data": entry["data"], "labels": entry["labels"]}, protocol=2))
    return ["train", "--dataset", "cifar10", "--model", "relu", "--out", str(case_dir / "train_out"),
            "--epochs", "1", "--device", "cpu", "--data-dir", str(case_dir)]


def _held(output: Callable[[Path], Path], command: Callable[[Workspace, Path], list[str]]) -> Callable[..., list[str]]:
    """``command`` while this process holds the lock of ``output(case_dir)`` (another run writing there)."""
    def build(workspace: Workspace, case_dir: Path) -> list[str]:
        argv = command(workspace, case_dir)
        target = output(case_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix != ".json":
            target.mkdir(exist_ok=True)
        HELD.enter_context(output_lock(target))
        return argv

    return build


HELD = contextlib.ExitStack()  # locks held "by another run" until the campaign ends (``release_locks``)


def release_locks() -> None:
    HELD.close()


def _full_disk() -> contextlib.AbstractContextManager[Any]:
    return mock.patch("newlogic.store.atomic.os.replace",
                      side_effect=OSError(errno.ENOSPC, "No space left on device"))


# ---- workflow configs ------------------------------------------------------------------------------------

BASE_CONFIG = """
dataset: digits
seeds: [0]
training: {epochs: 1}
attacks:
  fgsm_0.1: {attack: fgsm, eps: 0.1}
  bim_0.1: {attack: bim, eps: 0.1, limit: 50}
ablations:
  demo:
    models: [{name: relu, label: Baseline}, {name: relog-maxout_4, label: + MaxOut}]
"""


def config(change: Callable[[dict[str, Any]], None]) -> Callable[[Workspace, Path], dict[str, Any]]:
    """A small valid workflow config (``BASE_CONFIG``, independent of the demo's) changed by ``change``; the case
    reads it as the Snakefile does at dry run, through the study loader (``_validate``)."""
    def build(_workspace: Workspace, _case_dir: Path) -> dict[str, Any]:
        return base_config_with(change)

    return build


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``a/b/c`` in a config (creating mappings on the way; setting ids hold dots)."""
    def change(loaded: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = loaded
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


def _add_model(name: str) -> Callable[[dict[str, Any]], None]:
    def change(loaded: dict[str, Any]) -> None:
        loaded["ablations"]["demo"]["models"].append({"name": name, "label": "again"})

    return change


CASES: tuple[Case, ...] = (
    # names
    Case("huge maxout", "names", train(model="relog-maxout_1000000"), "maxout_1000000"),
    Case("huge minmaxout", "names", train(model="relog-minmaxout_64_64"), "minmaxout_64_64"),
    Case("relog base 1", "names", train(model="relog_1"), "relog_1"),
    Case("relog base huge", "names", train(model="relog_10000000"), "10000000"),
    Case("zero folding", "names", train(model="relog-minmaxout_0_4"), "minmaxout_0_4"),
    Case("two foldings", "names", train(model="relog-maxout_4-maxout_2"), "maxout_2"),
    Case("unknown token", "names", train(model="relogg-maxout_4"), "relogg"),
    Case("empty name", "names", train(model=""), "empty model name"),
    Case("negatives without sigmoid", "names", train(model="relog-overlay"), "overlay"),
    Case("prefix of another dataset", "names", train(model="cnn-mnist-relog"), "cnn-mnist-"),
    Case("unknown dataset", "names",
         lambda w, d: ["train", "--dataset", "mnistt", "--model", MODEL, "--out", str(d / "train_out")], "mnistt"),
    Case("unknown device", "names", train("--device", "tpu"), "tpu"),
    Case("unknown attack", "names", attack("--attack", "fgsmm"), "fgsmm"),
    Case("unknown preset", "names", fgsm("--preset", "strongest"), "strongest"),
    Case("unknown attack_on", "names", with_param("fgsm", "attack_on=logits"), "logits"),
    Case("unknown parameter", "names", with_param("fgsm", "bogus=1"), "bogus"),
    Case("unknown base attack", "names", with_param("transfer", "base_attack=bimm"), "bimm"),
    Case("not a model directory", "names",
         lambda w, d: ["attack", "--model-dir", str(d / "nowhere"), "--attack", "fgsm", "--out", str(d / "out.json"),
                       "--device", "cpu"],
         "nowhere"),
    Case("unknown subcommand", "names", lambda w, d: ["trian"], "trian"),
    # flags
    Case("eps nan", "flags", fgsm("--eps", "nan"), "nan"),
    Case("eps inf", "flags", fgsm("--eps", "inf"), "inf"),
    Case("eps negative", "flags", fgsm("--eps", "-0.3"), "-0.3"),
    Case("bim eps 1.5", "flags", attack("--attack", "bim", "--eps", "1.5"), "1.5"),
    Case("L2 eps unbounded", "flags", attack("--attack", "fgm_l2", "--eps", "unbounded"), "unbounded"),
    Case("eps not a number", "flags", fgsm("--eps", "abc"), "abc"),
    Case("eps as param nan", "flags", with_param("bim", "eps=.nan"), "nan"),
    Case("nb_iter 0", "flags", with_param("bim", "nb_iter=0"), "nb_iter"),
    Case("nb_iter -3", "flags", with_param("bim", "nb_iter=-3"), "nb_iter"),
    Case("nb_iter 2.5", "flags", with_param("bim", "nb_iter=2.5"), "nb_iter"),
    Case("cw max_iterations 0", "flags", with_param("cw_l2", "max_iterations=0"), "max_iterations"),
    Case("cw lr inf", "flags", with_param("cw_l2", "lr=.inf"), "lr"),
    Case("cw confidence negative", "flags", with_param("cw_l2", "confidence=-1"), "confidence"),
    Case("cw binary_search_steps 0", "flags", with_param("cw_l2", "binary_search_steps=0"), "binary_search_steps"),
    Case("eps_iter negative", "flags", with_param("bim", "eps_iter=-0.1"), "eps_iter"),
    Case("eps_iter nan", "flags", with_param("bim", "eps_iter=.nan"), "eps_iter"),
    Case("spsa_samples 0", "flags", with_param("spsa", "spsa_samples=0"), "spsa_samples"),
    Case("spsa delta 0", "flags", with_param("spsa", "delta=0"), "delta"),
    Case("batch_size 0", "flags", with_param("fgsm", "batch_size=0"), "batch"),
    Case("pgd restarts 0", "flags", with_param("pgd", "restarts=0"), "restarts"),
    Case("jsma gamma 2", "flags", with_param("jsma", "gamma=2"), "gamma"),
    Case("num_images 0", "flags", with_param("fgsm", "num_images=0"), "num_images"),
    Case("attack seed -1", "flags", fgsm("--seed", "-1"), "--seed"),
    Case("limit 0", "flags", fgsm("--limit", "0"), "--limit"),
    Case("batch size 0", "flags", fgsm("--batch-size", "0"), "--batch-size"),
    Case("param without =", "flags", fgsm("--param", "nb_iter"), "nb_iter"),
    Case("setting not JSON", "flags", fgsm("--setting", "{bad"), "--setting"),
    Case("setting a list", "flags", fgsm("--setting", "[1]"), "--setting"),
    Case("setting eps Infinity", "flags", attack("--setting", '{"attack": "fgsm", "eps": Infinity}'), "inf"),
    Case("param overflowing to inf", "flags", with_param("bim", "eps_iter=1e9999"), "eps_iter"),
    Case("train epochs 0", "flags", train("--epochs", "0"), "--epochs"),
    Case("train epochs 1.5", "flags", train("--epochs", "1.5"), "--epochs"),
    Case("train seed -1", "flags", train("--seed", "-1"), "--seed"),
    Case("training lr nan", "flags", train("--training", '{"lr": "nan"}'), "training.lr"),
    Case("training lr 1e400", "flags", train("--training", '{"lr": 1e400}'), "training.lr"),
    Case("training lr negative", "flags", train("--training", '{"lr": -1}'), "training.lr"),
    Case("training typo", "flags", train("--training", '{"epochz": 1}'), "epochz"),
    Case("training optimizer", "flags", train("--training", '{"optimizer": "rmsprop"}'), "rmsprop"),
    Case("training batch_size 0", "flags", train("--training", '{"batch_size": 0}'), "training.batch_size"),
    Case("training momentum -1", "flags", train("--training", '{"momentum": -1}'), "training.momentum"),
    Case("training grad_clip inf", "flags", train("--training", '{"grad_clip": "inf"}'), "training.grad_clip"),
    Case("architecture bn_momentum 2", "flags", train("--architecture", '{"bn_momentum": 2}'), "bn_momentum"),
    Case("architecture relog_beta nan", "flags", train("--architecture", '{"relog_beta": "nan"}'), "relog_beta"),
    Case("architecture typo", "flags", train("--architecture", '{"widht": 2}'), "widht"),
    Case("architecture relog_step 5", "flags", train("--architecture", '{"relog_step": 5}'), "relog_step"),
    Case("noise n-samples 0", "flags",
         lambda w, d: ["noise", "--model-dir", str(w.model), "--out", str(d / "out.json"), "--n-samples", "0"],
         "--n-samples"),
    Case("depth layers 0", "flags", lambda w, d: ["inspect", "depth", "--layers", "0"], "--layers"),
    Case("diverging training", "flags", train("--training", '{"optimizer": "sgd", "lr": 1e30}', model="relu"),
         "diverged"),
    Case("train on a held directory", "flags",
         _held(lambda d: d / "train_out", train()), "being written by another run"),
    Case("attack on a held result", "flags", _held(lambda d: d / "out.json", fgsm()), "being written by another run"),
    # files
    Case("model.pt truncated", "files", attack("--attack", "fgsm", edit=_truncate(WEIGHTS_FILE, 0.5)), WEIGHTS_FILE),
    Case("model.pt empty", "files", attack("--attack", "fgsm", edit=_write(WEIGHTS_FILE, b"")), WEIGHTS_FILE),
    Case("model.pt hostile pickle", "files", attack("--attack", "fgsm", edit=_hostile_weights), WEIGHTS_FILE),
    Case("model.pt of another model", "files", attack("--attack", "fgsm", edit=_other_weights), "does not fit"),
    Case("model.pt all NaN", "files", attack("--attack", "fgsm", edit=_nan_weights), "not finite"),
    Case("noise on NaN weights", "files",
         lambda w, d: ["noise", "--model-dir", str(w.model_copy(d, _nan_weights)), "--out", str(d / "out.json"),
                       "--device", "cpu"], "not finite"),
    Case("config.json truncated", "files", attack("--attack", "fgsm", edit=_truncate(CONFIG_FILE, 0.5)), CONFIG_FILE),
    Case("config.json binary", "files", attack("--attack", "fgsm", edit=_write(CONFIG_FILE, b"\xff\xfe\x00")),
         CONFIG_FILE),
    Case("config.json a list", "files", attack("--attack", "fgsm", edit=_write(CONFIG_FILE, b"[1, 2]")), CONFIG_FILE),
    Case("config.json renamed model", "files", attack("--attack", "fgsm", edit=_edit_config(_rename_model)),
         "fingerprint"),
    Case("config.json edited architecture", "files",
         attack("--attack", "fgsm", edit=_edit_config(_edit_architecture)), "fingerprint"),
    Case("metrics.json truncated", "files", rerun_train(_truncate(METRICS_FILE, 0.5)), METRICS_FILE),
    Case("checkpoint.pt garbage", "files",
         rerun_train(lambda d: ((d / METRICS_FILE).unlink(), (d / "checkpoint.pt").write_bytes(b"garbage"))),
         "checkpoint"),
    Case("MNIST label out of range", "files", _bad_mnist_labels, "label 12"),
    Case("CIFAR-10 label out of range", "files", _bad_cifar_labels, "label 10"),
    Case("full disk", "files", fgsm(), "ENOSPC", patch=_full_disk),
    # workflow configs (what `snakemake -n` checks)
    Case("config training typo", "configs", config(_set("training/epochz", 1)), "epochz"),
    Case("config training lr nan", "configs", config(_set("training/lr", float("nan"))), "training.lr"),
    Case("config architecture typo", "configs", config(_set("architecture/widht", 2)), "widht"),
    Case("config architecture bn_momentum", "configs", config(_set("architecture/bn_momentum", 0)), "bn_momentum"),
    Case("config figures typo", "configs", config(_set("figures/chanel", 1)), "chanel"),
    Case("config figures top_fraction 0", "configs", config(_set("figures/top_fraction", 0)), "figures.top_fraction"),
    Case("config gallery attack", "configs", config(_set("figures/gallery_setting", {"attack": "cw"})), "'cw'"),
    Case("config unknown attack", "configs", config(_set("attacks/fgsm_0.1", {"attack": "fgsmm"})), "fgsmm"),
    Case("config unknown parameter", "configs",
         config(_set("attacks/bim_0.1", {"attack": "bim", "nb_iterations": 3})), "nb_iterations"),
    Case("config eps -0.1", "configs", config(_set("attacks/fgsm_0.1", {"attack": "fgsm", "eps": -0.1})), "-0.1"),
    Case("config nb_iter 0", "configs", config(_set("attacks/bim_0.1", {"attack": "bim", "nb_iter": 0})), "nb_iter"),
    Case("config eps 1.5", "configs", config(_set("attacks/bim_0.1", {"attack": "bim", "eps": 1.5})), "1.5"),
    Case("config bad surrogate", "configs",
         config(_set("attacks/transfer", {"attack": "transfer", "surrogate": "relogg"})), "relogg"),
    Case("config duplicate model", "configs", config(_add_model("cnn-relu")), "twice"),
    Case("config duplicate spelling", "configs", config(_add_model("cnn-relog-maxout_4")), "twice"),
    Case("config bad model name", "configs", config(_add_model("relog-maxout_1000000")), "maxout_1000000"),
)


# ---- issue 22: configs, command lines and result folders are untrusted input -----------------------------

INJECTION, PATHS, TABLES, VALUES = "injection", "paths", "wrong tables", "values"
INTERRUPTION, READ_ONLY, TRACEBACKS = "interruption", "read-only", "tracebacks"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
BANNER = ("Using workflow specific profile", "Using profile")  # snakemake's own line before its output
SCRIPT_PAYLOAD = "x</script><img src=x onerror=alert(1)>"
TABLE_SETTINGS = {"fgsm_0.1": {"attack": "fgsm", "eps": 0.1, "limit": 20},
                  "noise_0.1": {"attack": "uniform_noise", "eps": 0.1, "limit": 20}}
Build = Callable[[Workspace, Path], Any]


def base_config_with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    loaded = yaml.safe_load(BASE_CONFIG)
    change(loaded)
    return loaded


def dry_run(text: Callable[[], str], *, env: dict[str, str] | None = None, profile: str | None = None,
            forbidden: str = "") -> Build:
    """``snakemake -n`` of the config ``text()`` in the case folder; its stderr (less snakemake's banner) as the case's.

    ``forbidden``: a file the config tries to create; its existence afterwards is reported as a second line.
    """
    def build(_workspace: Workspace, case_dir: Path) -> Callable[[], int]:
        path = case_dir / "config.yaml"
        path.write_text(text())

        def probe() -> int:
            command = [*(slurm_snakemake() if profile else [str(SNAKEMAKE)]), "-n", "--snakefile",
                       str(ROOT / "Snakefile"), "--configfile", str(path)]
            command += ["--profile", str(ROOT / profile)] if profile else []
            environ = slurm_environ() if profile else dict(os.environ)  # a profile's executor plugin: .venv-slurm
            done = subprocess.run(command, cwd=case_dir, env={**environ, **(env or {})}, capture_output=True,
                                  text=True, timeout=600)
            lines = [line for line in (done.stderr + done.stdout).splitlines()
                     if line.strip() and not line.startswith(BANNER)]
            if forbidden and (case_dir / forbidden).exists():
                lines.append(f"{forbidden} was created: the config ran a command")
            if done.returncode == 0:
                sys.stderr.write("the dry run passed\n" + "\n".join(lines[-1:]) + "\n")
                return 0
            sys.stderr.write("\n".join(lines) + "\n")
            return 2

        return probe

    return build


def yaml_text(change: Callable[[dict[str, Any]], None], extra: str = "") -> Callable[[], str]:
    return lambda: yaml.safe_dump(base_config_with(change), sort_keys=False) + extra


def _table(label: str, header: str, caption: str) -> Any:
    from newlogic.report.tables import AblationTable, Cell
    from newlogic.study import Ablation, ModelEntry

    ablation = Ablation("demo", "digits", (ModelEntry("relu", label),), ("s",), (0,), caption=caption)
    cells = {("relu", column): Cell(values={0: 0.5}) for column in ("clean", "s")}
    return AblationTable(ablation, {"clean": "Clean", "s": header}, cells, set(), [],
                         verdicts={"relu": "no masking found"})


def rendered(expected: dict[str, tuple[int, str]], label: str = "Baseline", header: str = "FGSM",
             caption: str = "") -> Build:
    """Render a table holding the payload to ``demo.{md,tex}``; each file's line ``n`` must be these bytes exactly.

    An expected line ending in `` …`` is a prefix (the rest is the legend, not the payload's).
    """
    def build(_workspace: Workspace, case_dir: Path) -> Callable[[], int]:
        def probe() -> int:
            from newlogic.report.tables import RENDERERS

            table = _table(label, header, caption)
            wrong = []
            for ext, (line, want) in expected.items():
                path = case_dir / f"demo.{ext}"
                path.write_bytes(RENDERERS[ext].render(table).encode())
                got = path.read_bytes().decode().splitlines()[line]
                if got != want and not (want.endswith(" …") and got.startswith(want[:-1])):
                    wrong.append(f"demo.{ext} line {line}: {got!r}, expected {want!r}")
            sys.stderr.write("".join(f"{line}\n" for line in wrong))
            return 1 if wrong else 0

        return probe

    return build


def _report_params(_workspace: Workspace, _case_dir: Path) -> Callable[[], int]:
    """Rule parameters reach report.html inside a <script> block: JSON of config text must hold no markup."""
    def probe() -> int:
        from newlogic.report.escape import json_for_html

        text = json_for_html({"label": SCRIPT_PAYLOAD, "caption": "a\n</script>"})
        if {"<", ">", "&"} & set(text) or json.loads(text) != {"label": SCRIPT_PAYLOAD, "caption": "a\n</script>"}:
            sys.stderr.write(f"markup in {text}\n")
            return 1
        return 0

    return probe


def evaluate(settings: str) -> Build:
    """``newlogic evaluate`` of the trained model with ``settings`` (JSON) into ``case_dir/results``."""
    def build(workspace: Workspace, case_dir: Path) -> list[str]:
        return ["evaluate", "--model-dir", str(workspace.model), "--settings", settings,
                "--out-dir", str(case_dir / "results"), "--device", "cpu", "--data-dir", str(workspace.root)]

    return build


def attack_out(out: Callable[[Workspace, Path], Path], *extra: str) -> Build:
    def build(workspace: Workspace, case_dir: Path) -> list[str]:
        return ["attack", "--model-dir", str(workspace.model), "--attack", "fgsm",
                "--out", str(out(workspace, case_dir)), "--limit", "20", "--device", "cpu",
                "--data-dir", str(workspace.root), *extra]

    return build


def _into_model(workspace: Workspace, case_dir: Path) -> Path:
    return workspace.model_copy(case_dir, lambda _model: None) / METRICS_FILE


def _existing_dir(_workspace: Workspace, case_dir: Path) -> Path:
    (case_dir / "out.json").mkdir()
    return case_dir / "out.json"


def _lock_symlink(workspace: Workspace, case_dir: Path) -> list[str]:
    (case_dir / "precious.txt").write_text("keep me")
    (case_dir / ".out.json.lock").symlink_to(case_dir / "precious.txt")
    return fgsm()(workspace, case_dir)


@functools.cache
def results_folder(workspace: Workspace) -> Path:
    """A results folder of the trained model (two settings, noise, checks) and its config, made once."""
    results = workspace.root / "R"
    model_dir = results / "models" / "digits" / MODEL / "seed0"
    shutil.copytree(workspace.model, model_dir)
    out = results / "attacks" / "digits" / MODEL / "seed0"
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        code = main(["evaluate", "--model-dir", str(model_dir), "--settings", json.dumps(TABLE_SETTINGS),
                     "--out-dir", str(out), "--noise-out", str(results / "noise" / "digits" / MODEL / "seed0.json"),
                     "--checks-out", str(out / "checks.json"), "--n-samples", "20", "--device", "cpu",
                     "--data-dir", str(workspace.root)])
    assert code == 0, "the campaign's results folder could not be made"
    config = {"dataset": "digits", "seeds": [0], "attacks": TABLE_SETTINGS,
              "ablations": {"demo": {"models": [{"name": MODEL, "label": "MaxOut"}], "suite_eps": []}}}
    (results / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return results


def aggregate(edit: Callable[[Path], None]) -> Build:
    """``newlogic aggregate`` of a copy of the results folder changed by ``edit(copy)``."""
    def build(workspace: Workspace, case_dir: Path) -> list[str]:
        results = case_dir / "R"
        shutil.copytree(results_folder(workspace), results)
        edit(results)
        return ["aggregate", "--config", str(results / "config.yaml"), "--ablation", "demo",
                "--results-dir", str(results), "--out-dir", str(case_dir / "tables")]

    return build


def _seed_dir(results: Path) -> Path:
    return results / "attacks" / "digits" / MODEL / "seed0"


def _noise_json(results: Path) -> Path:
    return results / "noise" / "digits" / MODEL / "seed0.json"


def _edit_json(path: Callable[[Path], Path], change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def edit(results: Path) -> None:
        record = json.loads(path(results).read_text())
        change(record)
        path(results).write_text(json.dumps(record))

    return edit


def _noise_as_fgsm(results: Path) -> None:
    for suffix in (".json", ".npz"):
        shutil.copyfile(_seed_dir(results) / f"noise_0.1{suffix}", _seed_dir(results) / f"fgsm_0.1{suffix}")


def _float_adv_correct(results: Path) -> None:
    import numpy as np

    path = _seed_dir(results) / "fgsm_0.1.npz"
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["adv_correct"] = arrays["adv_correct"].astype(np.float64) * 0.5
    np.savez(path, **arrays)


def _other_run_weights(results: Path) -> None:
    """Another run's weights copied over this run's ``model.pt`` (the same shapes, other values)."""
    path = results / "models" / "digits" / MODEL / "seed0" / WEIGHTS_FILE
    state = torch.load(path, weights_only=True)
    torch.save({key: value * 1.5 if value.is_floating_point() else value for key, value in state.items()}, path)


def _model_metrics(results: Path) -> Path:
    return results / "models" / "digits" / MODEL / "seed0" / METRICS_FILE


def _set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``a.b`` in a JSON record."""
    *parents, last = key.split(".")

    def change(record: dict[str, Any]) -> None:
        for part in parents:
            record = record[part]
        record[last] = value

    return change


def _drop_key(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda record: record.pop(key)


def _noise_rate(record: dict[str, Any]) -> None:
    record["inputs"]["uniform_noise"]["rejection_rate"] = 1.5


def _read_only() -> contextlib.AbstractContextManager[Any]:
    """A result folder nobody may write (the campaign runs as root, where chmod would not stop a write)."""
    return mock.patch("newlogic.store.lock._open_lock_file",
                      side_effect=PermissionError(errno.EACCES, "Permission denied", "a read-only folder"))


def _after_one_run(command: Build) -> Build:
    """``command`` run once in full, then returned to be run again (its result now up to date)."""
    def build(workspace: Workspace, case_dir: Path) -> list[str]:
        argv = command(workspace, case_dir)
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            assert main(argv) == 0
        return argv

    return build


def _completes(command: Build, prepare: Callable[[Path], None]) -> Build:
    """A probe: ``prepare(case_dir)`` leaves what an interrupted run leaves, then ``command`` must finish a result."""
    def build(workspace: Workspace, case_dir: Path) -> Callable[[], int]:
        prepare(case_dir)
        argv = command(workspace, case_dir)

        return lambda: _rerun_to_a_result(argv, case_dir)

    return build


def _rerun_to_a_result(argv: list[str], case_dir: Path) -> int:
    """``newlogic argv`` again: its exit code, or 1 when it exits 0 without a complete result in ``case_dir``."""
    code = main(argv)
    if code == 0 and not _wrote_result(case_dir):
        sys.stderr.write("no complete result after the rerun\n")
        return 1
    return code


def _stale_lock(case_dir: Path) -> None:
    (case_dir / ".out.json.lock").write_text("4242@a-killed-host")  # left by kill -9: a file, no longer locked


def _inconsistent_partial(case_dir: Path) -> None:
    import numpy as np

    np.savez(case_dir / "out.partial.npz", _request_hash=np.array("x"), _stops=np.array([10, 5]),
             _seconds=np.array([1.0]), _batch_size=np.array(10), label=np.arange(3))


def _interrupted_attack(workspace: Workspace, case_dir: Path) -> Callable[[], int]:
    """``newlogic attack`` (BIM, many batches) stopped by SIGINT after its first batches, then run again to the end."""
    argv = ["attack", "--model-dir", str(workspace.model), "--attack", "bim", "--eps", "0.1", "--out",
            str(case_dir / "out.json"), "--limit", "360", "--batch-size", "20", "--device", "cpu",
            "--data-dir", str(workspace.root)]

    def probe() -> int:
        run = subprocess.Popen([sys.executable, "-m", "newlogic.cli", *argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
        deadline = time.monotonic() + 300
        while not (case_dir / "out.partial.npz").exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        run.wait(timeout=300)
        if _wrote_result(case_dir):
            sys.stderr.write("the attack had finished before the interrupt\n")
            return 1
        return _rerun_to_a_result(argv, case_dir)

    return probe


def _empty_mnist(_workspace: Workspace, case_dir: Path) -> list[str]:
    write_fake_mnist(case_dir, n_train=40, n_test=0)
    return ["train", "--dataset", "mnist", "--model", "relu", "--out", str(case_dir / "train_out"),
            "--epochs", "1", "--device", "cpu", "--data-dir", str(case_dir)]


def _noise_into_dir(workspace: Workspace, case_dir: Path) -> list[str]:
    (case_dir / "noise_out").mkdir()
    return ["noise", "--model-dir", str(workspace.model), "--out", str(case_dir / "noise_out"), "--device", "cpu",
            "--data-dir", str(workspace.root)]


def _pop(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split("/")

    def change(loaded: dict[str, Any]) -> None:
        node = loaded
        for key in parents:
            node = node[key]
        node.pop(last)

    return change


def _both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(loaded: dict[str, Any]) -> None:
        for one in changes:
            one(loaded)

    return change


def _relabel(label: str) -> Callable[[dict[str, Any]], None]:
    def change(loaded: dict[str, Any]) -> None:
        for entry in loaded["ablations"]["demo"]["models"]:
            entry["label"] = label

    return change


UNTRUSTED_CASES: tuple[Case, ...] = (
    # injection: a config's or a file's text acting on the machine or on a rendered output
    Case("data_dir runs a command", INJECTION, dry_run(yaml_text(_set("data_dir", "data$(touch INJECTED)")),
                                                       forbidden="INJECTED"), "data_dir", injection=True),
    Case("__use_yte__ config", INJECTION, dry_run(yaml_text(lambda c: None, "__use_yte__: true\n")), "__use_yte__",
         injection=True),
    Case("YAML tag in a config", INJECTION,
         dry_run(lambda: BASE_CONFIG + "run: !!python/tuple [a, b]\n"), "tags", injection=True),
    Case("run name runs a command", INJECTION, config(_set("run", "x$(touch INJECTED)")), "run",
         injection=True),
    Case("caption closes the report script", INJECTION,
         rendered({"md": (4, "x&lt;/script>&lt;img src=x onerror=alert(1)>  "),
                   "tex": (-1, r"% x\textless{}/script\textgreater{}\textless{}img src=x onerror=alert(1)"
                               r"\textgreater{} Accuracy …")},
                  caption=SCRIPT_PAYLOAD), "", expect="escaped", injection=True),
    Case("label runs \\input", INJECTION,
         rendered({"tex": (4, r"\textasciicircum{}\textasciicircum{}5cinput\{/etc/hostname\} & \textbf{50.00} & "
                              r"\textbf{50.00} & …"),
                   "md": (2, "| ^^5cinput{/etc/hostname} | 50.00 | 50.00 | …")},
                  label="^^5cinput{/etc/hostname}"), "", expect="escaped", injection=True),
    Case("newline in a caption", INJECTION,
         rendered({"tex": (-1, r"% a \textbackslash{}input\{/etc/passwd\} Accuracy …"),
                   "md": (4, "a \\\\input{/etc/passwd}  ")},
                  caption="a\n\\input{/etc/passwd}"), "", expect="escaped", injection=True),
    Case("pipe and newline in a header", INJECTION,
         rendered({"md": (0, "| Model | Clean | a\\|b c | Verdict |"),
                   "tex": (2, r"Model & Clean & a\textbar{}b c & Verdict \\")}, header="a|b\nc"),
         "", expect="escaped", injection=True),
    Case("report parameters hold no markup", INJECTION, _report_params, "", expect="escaped", injection=True),
    # paths: a name or an --out that would write outside its folder or over another file
    Case("setting id ../", PATHS, evaluate('{"../escaped": {"attack": "fgsm", "limit": 5}}'), "../escaped"),
    Case("setting id absolute", PATHS, evaluate('{"/tmp/escaped": {"attack": "fgsm", "limit": 5}}'),
         "/tmp/escaped"),
    Case("setting id checks", PATHS, evaluate('{"checks": {"attack": "fgsm", "limit": 5}}'), "'checks'"),
    Case("setting id x.partial", PATHS, evaluate('{"x.partial": {"attack": "fgsm", "limit": 5}}'), "x.partial"),
    Case("--out into a model directory", PATHS, attack_out(_into_model), "model directory"),
    Case("--out an existing directory", PATHS, attack_out(_existing_dir), "is a directory"),
    Case("lock file a symlink", PATHS, _lock_symlink, "symbolic link"),
    Case("run ..", PATHS, config(_set("run", "..")), "run"),
    # wrong tables: a config or a file that would put wrong numbers in a table, exit 0
    Case("two models one label", TABLES, config(_relabel("same")), "same"),
    Case("setting id clean", TABLES, config(_set("attacks/clean", {"attack": "fgsm", "eps": 0.1})), "clean"),
    Case("setting id model", TABLES, config(_set("attacks/model", {"attack": "fgsm", "eps": 0.1})), "model"),
    Case("setting listed twice", TABLES, config(_set("ablations/demo/attacks", ["fgsm_0.1", "fgsm_0.1"])),
         "non-unique elements"),
    Case("noise result as FGSM", TABLES, aggregate(_noise_as_fgsm), "fgsm_0.1", needs="collector"),
    Case("metrics.json 700%", TABLES, aggregate(_edit_json(_model_metrics, _set_key("final.test_accuracy", 7.0))),
         METRICS_FILE, needs="collector"),
    Case("checks.json hand-edited verdict", TABLES,
         aggregate(_edit_json(lambda r: _seed_dir(r) / "checks.json", _set_key("verdict", "robust"))), "checks.json",
         needs="collector"),
    Case("noise.json 150%", TABLES, aggregate(_edit_json(_noise_json, _noise_rate)), "seed0.json",
         needs="collector"),
    Case("another run's model.pt", TABLES, aggregate(_other_run_weights), "sha256", needs="collector"),
    # values: numbers and keys a config or a flag gets wrong
    Case("seed 12345678901234567891", VALUES, config(_set("seeds", [12345678901234567891])), "seeds"),
    Case("seed 2**64", VALUES, config(_set("seeds", [2**64])), "seeds"),
    Case("seed true", VALUES, config(_set("seeds", [True])), "seeds"),
    Case("duplicate YAML key", VALUES, dry_run(lambda: BASE_CONFIG + "dataset: mnist\n"), "given twice"),
    Case("limit 1e400", VALUES, attack("--setting", '{"attack": "fgsm", "limit": 1e400}'), "limit"),
    Case("limit true", VALUES, attack("--setting", '{"attack": "fgsm", "limit": true}'), "limit"),
    Case("config limit .inf", VALUES, config(_set("attacks/bim_0.1/limit", float("inf"))), "inf"),
    Case("ablation -x", VALUES, config(lambda c: c["ablations"].update({"-x": {"models": ["relu"]}})), "-x"),
    Case("setting id twice in ablation (schema)", VALUES,
         config(_set("ablations/demo/attacks", ["bim_0.1", "bim_0.1"])), "ablations.demo.attacks"),
    # interruption: what a killed or interrupted run leaves behind; the plain rerun finishes
    Case("stale lock after kill -9", INTERRUPTION, _completes(fgsm(), _stale_lock), "", expect="ok"),
    Case("inconsistent .partial.npz", INTERRUPTION, _completes(fgsm(), _inconsistent_partial), "", expect="ok"),
    Case("attack interrupted by SIGINT, rerun", INTERRUPTION, _interrupted_attack, "", expect="ok"),
    # read-only: results nobody may write are still read
    Case("attack up to date, read-only", READ_ONLY, _after_one_run(fgsm()), "", patch=_read_only, expect="ok"),
    Case("evaluate up to date, read-only", READ_ONLY,
         _after_one_run(evaluate('{"fgsm_0.1": {"attack": "fgsm", "eps": 0.1, "limit": 20}}')), "",
         patch=_read_only, expect="ok"),
    Case("aggregate of read-only results", READ_ONLY, aggregate(lambda _results: None), "", patch=_read_only,
         expect="ok", needs="collector"),
    Case("attack to write, read-only", READ_ONLY, fgsm(), "cannot be written", patch=_read_only),
    # tracebacks and many-line errors become one line
    Case("MNIST with 0 images", TRACEBACKS, _empty_mnist, "0 items"),
    Case("limit the string 5", TRACEBACKS, attack("--setting", '{"attack": "fgsm", "limit": "5"}'), "limit"),
    Case("--out a directory", TRACEBACKS, _noise_into_dir, "is a directory"),
    Case("device auto before an error", TRACEBACKS, attack("--attack", "fgsmm", "--device", "auto"), "fgsmm"),
    Case("schema error at dry run", TRACEBACKS, dry_run(yaml_text(_set("bogus_key", 1))), "bogus_key"),
    Case("144 KB caption", TRACEBACKS, dry_run(yaml_text(_set("ablations/demo/caption", "x" * 147_456))),
         "caption"),
    Case("NEWLOGIC_GPU_REQUEST bogus", TRACEBACKS,
         dry_run(yaml_text(lambda c: None), env={"NEWLOGIC_GPU_REQUEST": "bogus"}, profile="cluster/slurm"),
         "NEWLOGIC_GPU_REQUEST"),
    Case("noise.json without a key", TRACEBACKS, aggregate(_edit_json(_noise_json, _drop_key("inputs"))),
         "seed0.json", needs="collector"),
    Case("float adv_correct", TRACEBACKS, aggregate(_float_adv_correct), "fgsm_0.1", needs="collector"),
    Case("result without a key", TRACEBACKS,
         aggregate(_edit_json(lambda r: _seed_dir(r) / "fgsm_0.1.json", _drop_key("adv_accuracy"))), "fgsm_0.1",
         needs="collector"),
)
ALL_CASES = CASES + UNTRUSTED_CASES  # the script runs both campaigns (tests/test_bad_inputs.py runs CASES)


def make_workspace(root: Path) -> Workspace:
    """Train the campaign's model (``relog-maxout_4`` on digits, 1 epoch) under ``root``."""
    from newlogic.training.run import run_training

    model = root / "A"
    with contextlib.redirect_stdout(io.StringIO()):
        run_training(MODEL, "digits", model, data_dir=root, seed=0, device="cpu", training={"epochs": 1},
                     architecture={})
    return Workspace(model, root)


def run_campaign(workspace: Workspace, cases: tuple[Case, ...] = ALL_CASES) -> list[tuple[Case, Outcome]]:
    """Every case of ``cases``, each in its own folder under ``workspace.root``."""
    try:
        return [(case, run_case(case, workspace, workspace.root / f"case{index:03d}"))
                for index, case in enumerate(cases)]
    finally:
        release_locks()


def issue30_cases() -> tuple[Case, ...]:
    """The issue-30 classes, kept in their own modules (they import this one): forged results and outputs,
    text and numbers, code in profiles and failing clusters (the last on the local Slurm)."""
    from campaign_cluster import CLUSTER_CASES
    from campaign_forgery import FORGERY_CASES
    from campaign_parsing import PARSING_CASES

    return FORGERY_CASES + PARSING_CASES + CLUSTER_CASES


def clean_count(outcomes: list[tuple[Case, Outcome]], kinds: Iterable[str]) -> str:
    """``clean/total`` over the cases of ``kinds``."""
    chosen = [(case, outcome) for case, outcome in outcomes if case.kind in set(kinds)]
    return f"{sum(not outcome.problems(case) for case, outcome in chosen)}/{len(chosen)}"


def campaign_main() -> int:
    """Run every case (the issue-30 classes too), print one line per case and the summary lines; 0 when all are
    clean."""
    from campaign_cluster import FAILING
    from campaign_forgery import FORGED, OVERWRITE

    campaign = ALL_CASES + issue30_cases()
    with tempfile.TemporaryDirectory() as scratch:
        outcomes = run_campaign(make_workspace(Path(scratch)), campaign)
    clean = 0
    for case, outcome in outcomes:
        problems = outcome.problems(case)
        clean += not problems
        last = (outcome.stderr.strip().splitlines() or [""])[-1]
        print(f"{'ok ' if not problems else 'BAD'} [{case.kind}] {case.name}: {'; '.join(problems) or last[:150]}")
    kinds = sorted({case.kind for case in campaign})
    print("clean by kind: " + ", ".join(
        f"{kind} {sum(not o.problems(c) for c, o in outcomes if c.kind == kind)}/"
        f"{sum(c.kind == kind for c in campaign)}" for kind in kinds))
    injections = [(case, outcome) for case, outcome in outcomes if case.injection]
    blocked = sum(not outcome.problems(case) for case, outcome in injections)
    needing = [(case, outcome) for case, outcome in outcomes if case.needs]
    print(f"cases needing the verified collector: {sum(not o.problems(c) for c, o in needing)}/{len(needing)} clean")
    print(f"bad_inputs_clean {clean}/{len(outcomes)}")
    print(f"injection_blocked {blocked}/{len(injections)}")
    print(f"forgery_refused {clean_count(outcomes, (FORGED, OVERWRITE))}")
    print(f"cluster_failures_clean {clean_count(outcomes, (FAILING,))}")
    return (0 if clean == len(outcomes) else 1)


if __name__ == "__main__":
    # through the module, not ``__main__``: the issue-30 case modules import ``bad_inputs_campaign``, and two copies
    # would each hold their own cached results folder and locks
    from bad_inputs_campaign import campaign_main as run_all

    sys.exit(run_all())
