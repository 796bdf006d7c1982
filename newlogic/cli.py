"""newlogic: train logic-inspired networks and ReLU baselines, attack them, and report their robustness.

Each command runs one stage of the study (train, attack or evaluate, checks, aggregate,
figures); the Snakemake workflow chains them (README.md). `newlogic list attacks|presets|
datasets|tokens` shows every name the commands accept, with its parameters and defaults;
`newlogic COMMAND --help` shows a command's options, their defaults and an example.
"""
# PYTHON_ARGCOMPLETE_OK

import argparse
import errno
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

from newlogic import commands as subcommand
from newlogic.cli_help import VersionAction, autocomplete, explain
from newlogic.config_file import MAX_SEED, load_yaml, parse_json_text
from newlogic.device import DEVICE_CHOICES
from newlogic.errors import USER_ERROR_EXIT, UserError
from newlogic.listing import LISTINGS
from newlogic.options import AT_LEAST_ONE, Range, coerce
from newlogic.store.atomic import FULL_DISK
from newlogic.store.config_copy import check_config_copy

NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)  # a read-only result folder: one line, exit 2
NAME_MAX = 255  # bytes of one folder or file name on Linux file systems (ENAMETOOLONG beyond: one line, exit 2)
UNBOUNDED = "unbounded"  # --eps unbounded: newlogic.attacks.base.UNBOUNDED (not imported: it needs torch)


def _json_object(text: str) -> dict[str, Any]:
    """A JSON object argument, read strictly (``parse_json_text``: no key twice); ``coerce`` refuses NaN by its key."""
    try:
        value = parse_json_text(text, "the value", finite=False)
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _checked(hint: Any) -> Callable[[str], Any]:
    """An argparse type: the text as ``hint`` (``newlogic.options.coerce``: finite, in its ``Range``)."""
    def parse(text: str) -> Any:
        try:
            return coerce(text, hint, "the value")
        except UserError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


SEED = _checked(Annotated[int, Range(0, MAX_SEED)])  # the config schema's seed bounds
COUNT = _checked(Annotated[int, AT_LEAST_ONE])


def _eps(text: str) -> float | str:
    """``--eps``: a finite number (its range is the attack's) or ``unbounded``."""
    return text if text == UNBOUNDED else _checked(float)(text)


def _config_source(text: str) -> str:
    """``--config``: inline ``{...}``, or a file; a workflow copy named by its hash must still have that hash."""
    if not text.lstrip().startswith("{"):
        try:
            check_config_copy(Path(text))
        except UserError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, load_yaml(value, key)
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}, cuda:<i>")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where datasets live")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the bad argument, exit code 2 (subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USER_ERROR_EXIT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _ablation_arguments(parser: argparse.ArgumentParser, ablation_note: str = "") -> None:
    """``--config``, ``--ablation``, ``--results-dir``, ``--out-dir``: what a reader of one ablation's results takes."""
    parser.add_argument("--config", required=True, type=_config_source,
                        help="workflow config: YAML/JSON file or inline {...}")
    parser.add_argument("--ablation", required=True, help="ablation name in the config" + ablation_note)
    parser.add_argument("--results-dir", type=Path, default=Path("results"), help="the results folder to read")
    parser.add_argument("--out-dir", type=Path, default=Path("results/tables"), help="where the tables go")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = OneLineParser(prog="newlogic", description=__doc__)
    parser.add_argument("--version", action=VersionAction, help="print the package version and git commit, exit")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one model into a model directory (resumes by itself)")
    train.add_argument("--dataset", required=True, help="dataset name (newlogic list datasets)")
    train.add_argument("--model", required=True, help="model name, e.g. relog-maxout_4 (SPEC §1 grammar)")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--epochs", type=COUNT, help="overrides training.epochs")
    train.add_argument("--seed", type=SEED, default=0, help="seed of the initialisation, data order and augmentation")
    train.add_argument("--training", type=_json_object, default={}, help="TrainOptions overrides as JSON")
    train.add_argument("--architecture", type=_json_object, default={}, help="ArchOptions overrides as JSON")
    train.add_argument(
        "--stop-margin", type=float, metavar="SECONDS",
        help="in a Slurm job, checkpoint and exit 75 this long before its time limit "
        "(default: $NEWLOGIC_STOP_MARGIN, else 300)",
    )
    _common(train)
    train.set_defaults(run=subcommand.train)

    attack = commands.add_parser("attack", help="run one attack setting on one trained model")
    attack.add_argument("--model-dir", type=Path, required=True, help="a model directory of newlogic train")
    attack.add_argument("--attack", help="attack name, e.g. fgsm, bim, cw_l2 (default: the setting's)")
    attack.add_argument("--out", type=Path, required=True, help="result JSON to write (.npz beside it)")
    attack.add_argument("--eps", type=_eps, help="perturbation bound: a number, or unbounded (L∞ ε 1)")
    attack.add_argument("--preset", help="paper or strong")
    attack.add_argument("--param", type=_key_value, action="append", default=[], help="KEY=VALUE attack parameter")
    attack.add_argument("--setting", type=_json_object, default={},
                        help="a config's attack setting as JSON (attack, parameters, limit, batch_size)")
    attack.add_argument("--limit", type=COUNT, help="attack only the first N test samples")
    attack.add_argument("--batch-size", type=COUNT, help="images per batch (default: the preset's)")
    attack.add_argument("--seed", type=SEED, default=0, help="seed for the test-set order and random starts")
    attack.add_argument("--surrogate-dir", type=Path, help="model directory of the surrogate (transfer)")
    _common(attack)
    attack.set_defaults(run=subcommand.attack)

    evaluate = commands.add_parser("evaluate", help="all attack settings, noise rejection and checks of one "
                                   "trained model, in one process (finished results are kept)")
    evaluate.add_argument("--model-dir", type=Path, required=True, help="a model directory of newlogic train")
    evaluate.add_argument("--settings", type=_json_object, required=True,
                          help="the config's attack settings to run, as JSON {name: setting}")
    evaluate.add_argument("--out-dir", type=Path, required=True, help="folder of the results ({setting}.json, .npz)")
    evaluate.add_argument("--noise-out", type=Path, help="noise.json to write (default: no noise rejection)")
    evaluate.add_argument("--checks-out", type=Path, help="checks.json to write (default: no checks)")
    evaluate.add_argument("--surrogates", type=_json_object, default={},
                          help="model directory of each surrogate a transfer setting names, as JSON {model: dir}")
    evaluate.add_argument("--seed", type=SEED, default=0, help="the model's seed: test-set order and random starts")
    evaluate.add_argument("--n-samples", type=COUNT, default=1000, help="noise and scrambled images each")
    evaluate.add_argument("--landscape", type=_json_object, default=None,
                          help="the config's landscape block as JSON: landscape.json beside --checks-out, checked")
    _common(evaluate)
    evaluate.set_defaults(run=subcommand.evaluate)

    checks = commands.add_parser("checks", help="gradient-masking checks over one model's attack results")
    checks.add_argument("--results", type=Path, nargs="+", required=True,
                        help="result JSONs of one model, or its result folder (every *.json but checks.json)")
    checks.add_argument("--out", type=Path, help="checks.json to write (default: in the result folder)")
    checks.set_defaults(run=subcommand.checks)

    verify = commands.add_parser("verify", help="re-run K seeded images of every result and compare their "
                                 "per-sample outcomes with the files (exit 2 on a mismatch)")
    verify.add_argument("results", type=Path, nargs="+", help="a results folder (models/ and attacks/) or result JSONs")
    verify.add_argument("--recompute", type=COUNT, default=5, metavar="K", help="images re-run per result")
    _common(verify)
    verify.set_defaults(run=subcommand.verify)

    aggregate = commands.add_parser("aggregate", help="tabulate an ablation's results (CSV, Markdown, LaTeX) "
                                    "and summarise them (JSON)")
    _ablation_arguments(aggregate)
    aggregate.set_defaults(run=subcommand.aggregate)

    reproduction = commands.add_parser("reproduction", help="the paper's published table beside the ablation's "
                                       "regenerated one (CSV, Markdown, LaTeX) and its figure")
    _ablation_arguments(reproduction, " (with a 'published' key)")
    reproduction.add_argument("--figure-dir", type=Path, help="where the figure goes (PNG, PDF; none if not given)")
    reproduction.set_defaults(run=subcommand.reproduction)

    landing = commands.add_parser("landing", help="the report's first screen: per ablation its findings, headline "
                                  "table and robustness curves (from summary.json)")
    landing.add_argument("--summary", type=Path, action="append", required=True,
                         help="an ablation's summary.json (repeat: one section each, in this order)")
    landing.add_argument("--figures-dir", type=Path, required=True,
                         help="the figures folder: each ablation's robustness_curves.{png,pdf} go to its {ablation}/")
    landing.add_argument("--out", type=Path, required=True, help="the landing rst (Snakemake's report description)")
    landing.add_argument("--config", type=_config_source,
                         help="workflow config (YAML/JSON file or inline {...}): with it, each model's checks")
    landing.add_argument("--results-dir", type=Path, default=Path("results"),
                         help="the results folder whose checks.json files --config reads (verified)")
    landing.set_defaults(run=subcommand.landing)

    noise = commands.add_parser("noise", help="rejection of uniform-noise and scrambled images by one model")
    noise.add_argument("--model-dir", type=Path, required=True, help="a model directory of newlogic train")
    noise.add_argument("--out", type=Path, required=True, help="noise.json to write")
    noise.add_argument("--n-samples", type=COUNT, default=1000, help="noise and scrambled images each")
    noise.add_argument("--seed", type=SEED, default=0, help="seed of the noise and scrambled images")
    _common(noise)
    noise.set_defaults(run=subcommand.noise)

    figures = commands.add_parser("figures", help="the study's figures as PNG and PDF (SPEC §6)")
    figure_kinds = figures.add_subparsers(dest="figure_kind", required=True)
    model_figures = figure_kinds.add_parser("model", help="every per-model figure of the figure catalog "
                                            "(newlogic.figure_catalog) of one model")
    model_figures.add_argument("--model-dir", type=Path, required=True, help="a model directory of newlogic train")
    model_figures.add_argument("--out-dir", type=Path, required=True, help="folder for the PNG and PDF files")
    model_figures.add_argument("--results", type=Path, nargs="*", default=[], help="the model's result JSONs")
    model_figures.add_argument("--options", type=_json_object, default={}, help="FigureOptions overrides as JSON")
    model_figures.add_argument("--seed", type=SEED, default=0, help="seed of the sampled images and attacks")
    _common(model_figures)
    model_figures.set_defaults(run=subcommand.figures_model)
    ablation_figures = figure_kinds.add_parser("ablation", help="every ablation figure of the figure catalog "
                                               "(newlogic.figure_catalog) of one ablation")
    ablation_figures.add_argument("--config", required=True, type=_config_source,
                                  help="workflow config: YAML/JSON file or inline {...}")
    ablation_figures.add_argument("--ablation", required=True, help="ablation name in the config")
    ablation_figures.add_argument("--results-dir", type=Path, default=Path("results"),
                                  help="the results folder to read (verified, as the tables read it)")
    ablation_figures.add_argument("--out-dir", type=Path, required=True, help="folder for the PNG and PDF files")
    ablation_figures.set_defaults(run=subcommand.figures_ablation)
    depth_figure = figure_kinds.add_parser("depth", help="the depth-propagation plot from `inspect depth --out`")
    depth_figure.add_argument("--depth-json", type=Path, required=True, help="the JSON of `inspect depth --out`")
    depth_figure.add_argument("--out-dir", type=Path, required=True, help="folder for the PNG and PDF files")
    depth_figure.set_defaults(run=subcommand.figures_depth)

    download = commands.add_parser("download", help="fetch a dataset (needs internet: run on a login node)")
    download.add_argument("--dataset", required=True, help="dataset name (newlogic list datasets)")
    download.add_argument("--data-dir", type=Path, default=Path("data"), help="where datasets live")
    download.set_defaults(run=subcommand.download)

    preflight = commands.add_parser("preflight", help="check a Slurm cluster before a study submits its first job "
                                    "(exit 2 when something blocks; cluster/README.md)")
    preflight.add_argument("--profile", required=True, help="plain-YAML Snakemake profile folder "
                           "(e.g. cluster/local-slurm) or name; read as data, templates refused")
    preflight.add_argument("--configfile", type=Path, default=Path("config/config.yaml"), help="the workflow config")
    preflight.add_argument("--results-dir", type=Path, default=Path("results"), help="where the results will go")
    preflight.add_argument("--no-srun", dest="srun", action="store_false",
                           help="skip the srun that compares the compute node's environment (a long queue)")
    preflight.add_argument("--json", action="store_true", help="write the findings as JSON")
    preflight.set_defaults(run=subcommand.preflight)

    inspect = commands.add_parser("inspect", help="analyses of the study (SPEC §6)")
    analyses = inspect.add_subparsers(dest="analysis", required=True)
    depth = analyses.add_parser("depth", help="activations through 100 Kaiming-initialised layers, ReLU vs ReLog")
    depth.add_argument("--layers", type=COUNT, default=100, help="depth of the network")
    depth.add_argument("--width", type=COUNT, default=256, help="units per layer")
    depth.add_argument("--seed", type=SEED, default=0, help="seed of the weights and inputs")
    depth.add_argument("--out", type=Path, help="JSON file for the per-layer statistics")
    depth.set_defaults(run=subcommand.inspect_depth)

    listing = commands.add_parser("list", help="registered attacks, presets, datasets or model-name tokens")
    listing.add_argument("what", choices=LISTINGS, help="what to list")
    listing.set_defaults(run=subcommand.list_registered)
    return explain(parser)


def main(argv: list[str] | None = None) -> int:
    """Entry point: a ``UserError``, a bad argument or a full disk becomes one line on stderr and exit code 2.

    Every other exception is a bug and keeps its traceback.
    """
    parser = build_parser()
    autocomplete(parser)
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            args.run(args)
        except UserError as error:  # the error alone: a warning (e.g. "running on the CPU") would bury it
            print(f"newlogic {args.command}: error: {error}", file=sys.stderr)
            return USER_ERROR_EXIT
        except OSError as error:
            if error.errno in NOT_WRITABLE:
                print(f"newlogic {args.command}: error: {error.filename or 'an output'} cannot be written "
                      f"({error.strerror}); write elsewhere, or make it writable", file=sys.stderr)
                return USER_ERROR_EXIT
            if error.errno == errno.ENAMETOOLONG:
                print(f"newlogic {args.command}: error: {error.filename or 'a path'} is too long ({error.strerror}): "
                      f"a folder or file name has at most {NAME_MAX} bytes; use a shorter path", file=sys.stderr)
                return USER_ERROR_EXIT
            if error.errno not in FULL_DISK:
                _print_warnings(caught)
                raise
            print(f"newlogic {args.command}: error: {errno.errorcode[error.errno]} ({error.strerror}) writing "
                  f"{error.filename or 'an output'}; free space there, then run again", file=sys.stderr)
            return USER_ERROR_EXIT
        except BaseException:
            _print_warnings(caught)
            raise
    _print_warnings(caught)
    return 0


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """The warnings a command raised, one line each, after it ran (never before a user error)."""
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
