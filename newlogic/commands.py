"""What each ``newlogic`` subcommand does, one function each (``newlogic.cli`` parses the arguments and
calls them): every function reads the parsed arguments and calls the library."""

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from newlogic.errors import USER_ERROR_EXIT, UserError
from newlogic.listing import listing
from newlogic.names import check_safe_name
from newlogic.store import paths
from newlogic.store.outputs import (
    CHECKS_KIND,
    all_or_nothing,
    check_outputs,
    folder_output,
    json_output,
    result_output,
)

EARLY_STOP_SIGNALS = ("SIGTERM", "SIGUSR1")  # newlogic.training.checkpoint.STOP_SIGNALS, caught before its import


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


def train(args: argparse.Namespace) -> None:
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


def attack(args: argparse.Namespace) -> None:
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


def evaluate(args: argparse.Namespace) -> None:
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


def checks(args: argparse.Namespace) -> None:
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


def verify(args: argparse.Namespace) -> None:
    """Re-run ``--recompute`` seeded images of each result; one line per mismatch on stderr, then exit 2."""
    from newlogic.verify import verify_results

    mismatches = verify_results(args.results, recompute=args.recompute, data_dir=args.data_dir, device=args.device)
    for line in mismatches:
        print(f"newlogic verify: mismatch: {line}", file=sys.stderr)
    if mismatches:
        raise SystemExit(USER_ERROR_EXIT)


def aggregate(args: argparse.Namespace) -> None:
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


def reproduction(args: argparse.Namespace) -> None:
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


def landing(args: argparse.Namespace) -> None:
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


def noise(args: argparse.Namespace) -> None:
    from newlogic.evaluation.noise import evaluate_noise_rejection

    check_outputs([json_output(args.out, "--out", "noise")], model_dirs=[args.model_dir])
    evaluate_noise_rejection(
        args.model_dir, args.out, data_dir=args.data_dir, device=args.device, n_samples=args.n_samples, seed=args.seed
    )


def figures_model(args: argparse.Namespace) -> None:
    from newlogic.figures.registry import make_model_figures

    check_outputs([folder_output(args.out_dir, "--out-dir", "figures")], inputs=args.results,
                  model_dirs=[args.model_dir])
    make_model_figures(
        args.model_dir, args.out_dir, data_dir=args.data_dir, device=args.device,
        results=args.results, seed=args.seed, options=args.options,
    )


def figures_ablation(args: argparse.Namespace) -> None:
    from newlogic.figures.ablation import make_ablation_figures
    from newlogic.report.collect import load_ablation_results
    from newlogic.study_loader import load_study

    check_outputs([folder_output(args.out_dir, "--out-dir", "figures")], inputs=_config_files(args.config))
    make_ablation_figures(load_ablation_results(load_study(args.config), args.ablation, args.results_dir), args.out_dir)


def figures_depth(args: argparse.Namespace) -> None:
    from newlogic.figures.ablation import make_depth_figure

    check_outputs([folder_output(args.out_dir, "--out-dir", "figures")], inputs=[args.depth_json])
    make_depth_figure(args.depth_json, args.out_dir)


def download(args: argparse.Namespace) -> None:
    from newlogic.data import download_dataset

    print(download_dataset(args.dataset, args.data_dir))


def preflight(args: argparse.Namespace) -> None:
    from newlogic.preflight import preflight

    text, blocking = preflight(args.profile, args.configfile, args.results_dir, srun=args.srun, as_json=args.json)
    print(text)
    if blocking:
        raise SystemExit(USER_ERROR_EXIT)


def list_registered(args: argparse.Namespace) -> None:
    print("\n".join(listing(args.what)))


def inspect_depth(args: argparse.Namespace) -> None:
    from newlogic.evaluation.depth import run_depth_experiment

    check_outputs([json_output(args.out, "--out", "analysis")])
    run_depth_experiment(layers=args.layers, width=args.width, seed=args.seed, out=args.out)
