"""The bad-input campaign (issue 11): names, flags, configs and files that must each end in one line and exit 2.

Every case is a ``newlogic`` command line run in-process (``newlogic.cli.main``), or a workflow config
checked by ``newlogic.study.validate_config`` (what ``snakemake -n`` runs at parse time). A case is
*clean* when it exits with code 2 (a config: raises ``UserError``), prints no traceback, prints exactly
one line on stderr, that line names the bad value (``Case.names``), and no complete result is written
(no ``complete: true`` result at ``out.json``, no ``metrics.json`` in ``train_out/``).

Run as a script, it trains its tiny model (digits, 1 epoch), runs every case and prints
``bad_inputs_clean N/M`` (exit 1 unless all are clean)::

    OMP_NUM_THREADS=1 .venv/bin/python tests/bad_inputs_campaign.py
"""

import contextlib
import errno
import io
import json
import pickle
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_datasets import write_fake_cifar10, write_fake_mnist  # noqa: E402

from newlogic.cli import main  # noqa: E402
from newlogic.errors import UserError  # noqa: E402
from newlogic.nn.models import ArchOptions, build_model  # noqa: E402
from newlogic.spec import parse_model_name  # noqa: E402
from newlogic.store.lock import output_lock  # noqa: E402
from newlogic.store.model_dir import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE  # noqa: E402
from newlogic.study import validate_config  # noqa: E402

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
    kind: str  # names, flags, configs or files
    build: Callable[[Workspace, Path], list[str] | dict[str, Any]]
    names: str
    patch: Callable[[], contextlib.AbstractContextManager[Any]] | None = None


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
            else:
                code = main(built)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 2
        except Exception:  # an escaped exception is what the campaign looks for: record it
            code = None
            stderr.write(traceback.format_exc())
    return Outcome(code, stderr.getvalue(), _wrote_result(case_dir))


def _validate(config: dict[str, Any], stderr: io.StringIO) -> int:
    """``validate_config`` as the workflow runs it: a UserError is one line (``config error: …``) and a failure."""
    try:
        validate_config(config)
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
    """A small valid workflow config (``BASE_CONFIG``, independent of the demo's) changed by ``change``."""
    def build(_workspace: Workspace, _case_dir: Path) -> dict[str, Any]:
        loaded = yaml.safe_load(BASE_CONFIG)
        change(loaded)
        return loaded

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


def make_workspace(root: Path) -> Workspace:
    """Train the campaign's model (``relog-maxout_4`` on digits, 1 epoch) under ``root``."""
    from newlogic.training.run import run_training

    model = root / "A"
    with contextlib.redirect_stdout(io.StringIO()):
        run_training(MODEL, "digits", model, data_dir=root, seed=0, device="cpu", training={"epochs": 1},
                     architecture={})
    return Workspace(model, root)


def run_campaign(workspace: Workspace) -> list[tuple[Case, Outcome]]:
    """Every case, each in its own folder under ``workspace.root``."""
    try:
        return [(case, run_case(case, workspace, workspace.root / f"case{index:03d}"))
                for index, case in enumerate(CASES)]
    finally:
        release_locks()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        outcomes = run_campaign(make_workspace(Path(scratch)))
    clean = 0
    for case, outcome in outcomes:
        problems = outcome.problems(case)
        clean += not problems
        last = (outcome.stderr.strip().splitlines() or [""])[-1]
        print(f"{'ok ' if not problems else 'BAD'} [{case.kind}] {case.name}: {'; '.join(problems) or last[:150]}")
    kinds = sorted({case.kind for case in CASES})
    print("cases by kind: " + ", ".join(f"{kind} {sum(case.kind == kind for case in CASES)}" for kind in kinds))
    print(f"bad_inputs_clean {clean}/{len(outcomes)}")
    sys.exit(0 if clean == len(outcomes) else 1)
