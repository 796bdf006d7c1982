"""newlogic: train logic-inspired networks and ReLU baselines, attack them, and report their robustness.

Each command runs one stage of the study (train, attack or evaluate, checks, aggregate,
figures); the Snakemake workflow chains them (README.md). `newlogic list attacks|presets|
datasets|tokens` shows every name the commands accept, with its parameters and defaults;
`newlogic COMMAND --help` shows a command's options, their defaults and an example.
"""
# PYTHON_ARGCOMPLETE_OK

import argparse
import errno
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

from newlogic.cli_help import VersionAction, autocomplete, explain
from newlogic.config_file import MAX_SEED, load_yaml, parse_json_text
from newlogic.device import DEVICE_CHOICES
from newlogic.errors import UserError
from newlogic.listing import LISTINGS, listing
from newlogic.names import check_safe_name
from newlogic.options import AT_LEAST_ONE, Range, coerce
from newlogic.store import paths
from newlogic.store.atomic import FULL_DISK
from newlogic.store.config_copy import check_config_copy
from newlogic.store.outputs import (
    CHECKS_KIND,
    all_or_nothing,
    check_outputs,
    folder_output,
    json_output,
    result_output,
)

USER_ERROR_EXIT = 2
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)  # a read-only result folder: one line, exit 2
NAME_MAX = 255  # bytes of one folder or file name on Linux file systems (ENAMETOOLONG beyond: one line, exit 2)
UNBOUNDED = "unbounded"  # --eps unbounded: newlogic.attacks.base.UNBOUNDED (not imported: it needs torch)
EARLY_STOP_SIGNALS = ("SIGTERM", "SIGUSR1")  # newlogic.training.checkpoint.STOP_SIGNALS, caught before its import


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


class EarlySignals:
    """Records SIGTERM/SIGUSR1 from the start of ``newlogic train``, before torch is imported.

    Training's own handler (``stop_on_signals``) takes the recorded signal over, so a stop during
    the first seconds still ends with a checkpoint and exit 75, never 143.
    """

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self, signum: int, _frame: Any) -> None:
        self.signal_name = signal.Signals(signum).name

    @contextmanager
    def installed(self) -> Iterator["EarlySignals"]:
        """Handle the stop signals while inside (main thread only), then restore the old handlers."""
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {number: signal.signal(number, self) for number in
                        (getattr(signal, name) for name in EARLY_STOP_SIGNALS if hasattr(signal, name))}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def _config_files(config: str) -> list[Path]:
    """``--config`` as an input file (none when inline ``{...}``)."""
    return [] if config.lstrip().startswith("{") else [Path(config)]


def _cmd_train(args: argparse.Namespace) -> None:
    """Train; on SIGTERM/SIGUSR1 or at the job's deadline: checkpoint saved, exit ``RESUMABLE_EXIT_CODE`` (75)."""
    with EarlySignals().installed():
        _train(args)


def _train(args: argparse.Namespace) -> None:
    from newlogic.training.run import RESUMABLE_EXIT_CODE, TrainingInterrupted, run_training

    training = dict(args.training)
    if args.epochs is not None:
        training["epochs"] = args.epochs
    try:
        run_training(
            args.model, args.dataset, args.out,
            data_dir=args.data_dir, seed=args.seed, device=args.device,
            training=training, architecture=args.architecture, margin=args.stop_margin,
        )
    except TrainingInterrupted as interrupted:
        print(f"newlogic train: {interrupted}", file=sys.stderr)
        raise SystemExit(RESUMABLE_EXIT_CODE) from None


def check_out_file(out: Path | None, what: str, *model_dirs: Path | None) -> None:
    """A result file ``out`` under the one output rule (``newlogic.store.outputs.check_outputs``)."""
    check_outputs([result_output(out, what)], model_dirs=model_dirs)


def _cmd_attack(args: argparse.Namespace) -> None:
    from newlogic.attacks.request import attack_request
    from newlogic.evaluation.evaluate import run_attack_setting

    check_outputs([result_output(args.out, "--out")], model_dirs=(args.model_dir, args.surrogate_dir))
    flags = {"attack": args.attack, "eps": args.eps, "preset": args.preset}
    setting = {**args.setting, **dict(args.param), **{key: value for key, value in flags.items() if value is not None}}
    request = attack_request(args.out.stem, setting)
    run_attack_setting(
        args.model_dir, request.attack, args.out,
        data_dir=args.data_dir, device=args.device, limit=request.limit if args.limit is None else args.limit,
        batch_size=request.batch_size if args.batch_size is None else args.batch_size, seed=args.seed,
        surrogate_dir=args.surrogate_dir,
    )


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from newlogic.runner import evaluate_model

    for name in args.settings:
        check_safe_name(name, "--settings: attack setting")
    models = (args.model_dir, *map(Path, args.surrogates.values()))
    results = [name + suffix for name in args.settings for suffix in (".json", ".npz")]
    check_outputs([folder_output(args.out_dir, "--out-dir", "results", results),
                   json_output(args.noise_out, "--noise-out", "noise"),
                   json_output(args.checks_out, "--checks-out", CHECKS_KIND)], model_dirs=models)
    evaluate_model(args.model_dir, args.settings, out_dir=args.out_dir, seed=args.seed, data_dir=args.data_dir,
                   device=args.device, noise_out=args.noise_out, checks_out=args.checks_out,
                   surrogate_dirs=args.surrogates, noise_samples=args.n_samples, landscape=args.landscape)


def _cmd_checks(args: argparse.Namespace) -> None:
    from newlogic.report.checks import CHECKS_FILE, result_paths
    from newlogic.report.verify_checks import write_verified_checks

    folders = [path for path in args.results if path.is_dir()]
    if args.out is None and len(folders) != 1:
        raise UserError("--out is needed unless --results is one model's result folder")
    results, out = result_paths(args.results), args.out or folders[0] / CHECKS_FILE
    check_outputs([json_output(out, "--out", CHECKS_KIND)],
                  inputs=[*results, *(path.with_suffix(".npz") for path in results)])
    report = write_verified_checks(results, out)
    print(f"{report['model']}: {report['verdict']}")
    for line in report["evidence"]:
        print(f"  {line}")


def _cmd_verify(args: argparse.Namespace) -> None:
    """Re-run ``--recompute`` seeded images of each result; one line per mismatch on stderr, then exit 2."""
    from newlogic.verify import verify_results

    mismatches = verify_results(args.results, recompute=args.recompute, data_dir=args.data_dir, device=args.device)
    for line in mismatches:
        print(f"newlogic verify: mismatch: {line}", file=sys.stderr)
    if mismatches:
        raise SystemExit(USER_ERROR_EXIT)


def _cmd_aggregate(args: argparse.Namespace) -> None:
    """The ablation's tables and its summary (``{ablation}.summary.json``) beside them: all of them or none."""
    from newlogic.report.collect import collect_ablation
    from newlogic.report.summary import summary_of, write_summary_json
    from newlogic.report.tables import table_of, write_tables
    from newlogic.study_loader import load_study

    names = [f"{args.ablation}.{ext}" for ext in (*paths.TABLE_FORMATS, paths.SUMMARY_EXT)]
    check_outputs([folder_output(args.out_dir, "--out-dir", "tables", names)], inputs=_config_files(args.config))
    study = load_study(args.config)
    collected = collect_ablation(study.config, args.ablation, args.results_dir)  # once, verified: both read them
    with all_or_nothing(args.out_dir) as staging:
        write_tables(table_of(collected, study.stats), staging)
        write_summary_json(summary_of(collected, study.config), staging)


def _cmd_reproduction(args: argparse.Namespace) -> None:
    """The ablation's reproduction tables (published against regenerated) and figure."""
    from newlogic.report.reproduction_render import write_reproduction
    from newlogic.study_loader import load_study

    names = [f"{args.ablation}.{paths.REPRODUCTION_EXT}.{ext}" for ext in paths.TABLE_FORMATS]
    check_outputs([folder_output(args.out_dir, "--out-dir", "tables", names),
                   folder_output(args.figure_dir, "--figure-dir", "figures")], inputs=_config_files(args.config))
    reproduction = write_reproduction(load_study(args.config).config, args.ablation, results_dir=args.results_dir,
                                      out_dir=args.out_dir)
    if args.figure_dir is not None:
        from newlogic.figures.ablation import make_reproduction_figure

        make_reproduction_figure(reproduction, args.figure_dir)


def _cmd_landing(args: argparse.Namespace) -> None:
    """The report's landing view: each ablation's robustness figure, then the description rst that shows them."""
    from newlogic.figures.ablation import make_summary_figures
    from newlogic.report.collect import collect_ablation
    from newlogic.report.html_page import load_summary, write_landing
    from newlogic.store.outputs import Output
    from newlogic.study_loader import load_study

    check_outputs([Output(args.out, "--out", (".rst",), "landing"), folder_output(args.figures_dir, "--figures-dir",
                                                                                  "figures")],
                  inputs=[*args.summary, *([] if args.config is None else _config_files(args.config))])
    summaries = [load_summary(path) for path in args.summary]
    config = None if args.config is None else load_study(args.config).config
    sections = []
    for summary in summaries:
        make_summary_figures(summary, args.figures_dir / summary["ablation"])
        checks = None
        if config is not None:  # each model's checks.json, verified as the tables read them
            collected = collect_ablation(config, summary["ablation"], args.results_dir)
            checks = {model.name: {seed: run.checks for seed, run in model.runs.items()} for model in collected.models}
        png = (args.figures_dir / summary["ablation"] / f"{paths.ROBUSTNESS_FIGURE}.png").read_bytes()
        sections.append((summary, png, checks))
    write_landing(sections, args.out)


def _cmd_noise(args: argparse.Namespace) -> None:
    from newlogic.evaluation.noise import evaluate_noise_rejection

    check_outputs([json_output(args.out, "--out", "noise")], model_dirs=[args.model_dir])
    evaluate_noise_rejection(
        args.model_dir, args.out, data_dir=args.data_dir, device=args.device, n_samples=args.n_samples, seed=args.seed
    )


def _cmd_figures_model(args: argparse.Namespace) -> None:
    from newlogic.figures.registry import make_model_figures

    check_outputs([folder_output(args.out_dir, "--out-dir", "figures")], inputs=args.results,
                  model_dirs=[args.model_dir])
    make_model_figures(
        args.model_dir, args.out_dir, data_dir=args.data_dir, device=args.device,
        results=args.results, seed=args.seed, options=args.options,
    )


def _cmd_figures_ablation(args: argparse.Namespace) -> None:
    from newlogic.figures.ablation import make_ablation_figures
    from newlogic.report.collect import load_ablation_results
    from newlogic.study_loader import load_study

    check_outputs([folder_output(args.out_dir, "--out-dir", "figures")], inputs=_config_files(args.config))
    make_ablation_figures(load_ablation_results(load_study(args.config), args.ablation, args.results_dir), args.out_dir)


def _cmd_figures_depth(args: argparse.Namespace) -> None:
    from newlogic.figures.ablation import make_depth_figure

    check_outputs([folder_output(args.out_dir, "--out-dir", "figures")], inputs=[args.depth_json])
    make_depth_figure(args.depth_json, args.out_dir)


def _cmd_download(args: argparse.Namespace) -> None:
    from newlogic.data import download_dataset

    print(download_dataset(args.dataset, args.data_dir))


def _cmd_preflight(args: argparse.Namespace) -> None:
    from newlogic.preflight import preflight

    text, blocking = preflight(args.profile, args.configfile, args.results_dir, srun=args.srun, as_json=args.json)
    print(text)
    if blocking:
        raise SystemExit(USER_ERROR_EXIT)


def _cmd_list(args: argparse.Namespace) -> None:
    print("\n".join(listing(args.what)))


def _cmd_inspect_depth(args: argparse.Namespace) -> None:
    from newlogic.evaluation.depth import run_depth_experiment

    check_outputs([json_output(args.out, "--out", "analysis")])
    run_depth_experiment(layers=args.layers, width=args.width, seed=args.seed, out=args.out)


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
    train.set_defaults(run=_cmd_train)

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
    attack.set_defaults(run=_cmd_attack)

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
    evaluate.set_defaults(run=_cmd_evaluate)

    checks = commands.add_parser("checks", help="gradient-masking checks over one model's attack results")
    checks.add_argument("--results", type=Path, nargs="+", required=True,
                        help="result JSONs of one model, or its result folder (every *.json but checks.json)")
    checks.add_argument("--out", type=Path, help="checks.json to write (default: in the result folder)")
    checks.set_defaults(run=_cmd_checks)

    verify = commands.add_parser("verify", help="re-run K seeded images of every result and compare their "
                                 "per-sample outcomes with the files (exit 2 on a mismatch)")
    verify.add_argument("results", type=Path, nargs="+", help="a results folder (models/ and attacks/) or result JSONs")
    verify.add_argument("--recompute", type=COUNT, default=5, metavar="K", help="images re-run per result")
    _common(verify)
    verify.set_defaults(run=_cmd_verify)

    aggregate = commands.add_parser("aggregate", help="tabulate an ablation's results (CSV, Markdown, LaTeX) "
                                    "and summarise them (JSON)")
    _ablation_arguments(aggregate)
    aggregate.set_defaults(run=_cmd_aggregate)

    reproduction = commands.add_parser("reproduction", help="the paper's published table beside the ablation's "
                                       "regenerated one (CSV, Markdown, LaTeX) and its figure")
    _ablation_arguments(reproduction, " (with a 'published' key)")
    reproduction.add_argument("--figure-dir", type=Path, help="where the figure goes (PNG, PDF; none if not given)")
    reproduction.set_defaults(run=_cmd_reproduction)

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
    landing.set_defaults(run=_cmd_landing)

    noise = commands.add_parser("noise", help="rejection of uniform-noise and scrambled images by one model")
    noise.add_argument("--model-dir", type=Path, required=True, help="a model directory of newlogic train")
    noise.add_argument("--out", type=Path, required=True, help="noise.json to write")
    noise.add_argument("--n-samples", type=COUNT, default=1000, help="noise and scrambled images each")
    noise.add_argument("--seed", type=SEED, default=0, help="seed of the noise and scrambled images")
    _common(noise)
    noise.set_defaults(run=_cmd_noise)

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
    model_figures.set_defaults(run=_cmd_figures_model)
    ablation_figures = figure_kinds.add_parser("ablation", help="every ablation figure of the figure catalog "
                                               "(newlogic.figure_catalog) of one ablation")
    ablation_figures.add_argument("--config", required=True, type=_config_source,
                                  help="workflow config: YAML/JSON file or inline {...}")
    ablation_figures.add_argument("--ablation", required=True, help="ablation name in the config")
    ablation_figures.add_argument("--results-dir", type=Path, default=Path("results"),
                                  help="the results folder to read (verified, as the tables read it)")
    ablation_figures.add_argument("--out-dir", type=Path, required=True, help="folder for the PNG and PDF files")
    ablation_figures.set_defaults(run=_cmd_figures_ablation)
    depth_figure = figure_kinds.add_parser("depth", help="the depth-propagation plot from `inspect depth --out`")
    depth_figure.add_argument("--depth-json", type=Path, required=True, help="the JSON of `inspect depth --out`")
    depth_figure.add_argument("--out-dir", type=Path, required=True, help="folder for the PNG and PDF files")
    depth_figure.set_defaults(run=_cmd_figures_depth)

    download = commands.add_parser("download", help="fetch a dataset (needs internet: run on a login node)")
    download.add_argument("--dataset", required=True, help="dataset name (newlogic list datasets)")
    download.add_argument("--data-dir", type=Path, default=Path("data"), help="where datasets live")
    download.set_defaults(run=_cmd_download)

    preflight = commands.add_parser("preflight", help="check a Slurm cluster before a study submits its first job "
                                    "(exit 2 when something blocks; cluster/README.md)")
    preflight.add_argument("--profile", required=True, help="plain-YAML Snakemake profile folder "
                           "(e.g. cluster/local-slurm) or name; read as data, templates refused")
    preflight.add_argument("--configfile", type=Path, default=Path("config/config.yaml"), help="the workflow config")
    preflight.add_argument("--results-dir", type=Path, default=Path("results"), help="where the results will go")
    preflight.add_argument("--no-srun", dest="srun", action="store_false",
                           help="skip the srun that compares the compute node's environment (a long queue)")
    preflight.add_argument("--json", action="store_true", help="write the findings as JSON")
    preflight.set_defaults(run=_cmd_preflight)

    inspect = commands.add_parser("inspect", help="analyses of the study (SPEC §6)")
    analyses = inspect.add_subparsers(dest="analysis", required=True)
    depth = analyses.add_parser("depth", help="activations through 100 Kaiming-initialised layers, ReLU vs ReLog")
    depth.add_argument("--layers", type=COUNT, default=100, help="depth of the network")
    depth.add_argument("--width", type=COUNT, default=256, help="units per layer")
    depth.add_argument("--seed", type=SEED, default=0, help="seed of the weights and inputs")
    depth.add_argument("--out", type=Path, help="JSON file for the per-layer statistics")
    depth.set_defaults(run=_cmd_inspect_depth)

    listing = commands.add_parser("list", help="registered attacks, presets, datasets or model-name tokens")
    listing.add_argument("what", choices=LISTINGS, help="what to list")
    listing.set_defaults(run=_cmd_list)
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
