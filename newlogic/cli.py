"""The ``newlogic`` command: argument parsing only; the work is done by library functions."""

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml

from newlogic.device import DEVICE_CHOICES
from newlogic.errors import UserError

USER_ERROR_EXIT = 2


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, yaml.safe_load(value)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}, cuda:<i>")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where datasets live (default: data)")


def _cmd_train(args: argparse.Namespace) -> None:
    """Train; on SIGTERM/SIGUSR1 the checkpoint is saved and the exit code is ``RESUMABLE_EXIT_CODE`` (75)."""
    from newlogic.training.run import RESUMABLE_EXIT_CODE, TrainingInterrupted, run_training

    training = dict(args.training)
    if args.epochs is not None:
        training["epochs"] = args.epochs
    try:
        run_training(
            args.model, args.dataset, args.out,
            data_dir=args.data_dir, seed=args.seed, device=args.device,
            training=training, architecture=args.architecture,
        )
    except TrainingInterrupted as interrupted:
        print(f"newlogic train: {interrupted}", file=sys.stderr)
        raise SystemExit(RESUMABLE_EXIT_CODE) from None


def _cmd_attack(args: argparse.Namespace) -> None:
    from newlogic.evaluation.evaluate import run_attack_setting

    setting = {"attack": args.attack, **args.setting, **dict(args.param)}
    if args.eps is not None:
        setting["eps"] = args.eps
    if args.preset is not None:
        setting["preset"] = args.preset
    run_attack_setting(
        args.model_dir, setting, args.out,
        data_dir=args.data_dir, device=args.device, limit=args.limit,
        batch_size=args.batch_size, seed=args.seed, surrogate_dir=args.surrogate_dir,
    )


def _cmd_checks(args: argparse.Namespace) -> None:
    from newlogic.report.checks import write_checks

    write_checks(args.results, args.out)


def _cmd_aggregate(args: argparse.Namespace) -> None:
    from newlogic.report.tables import aggregate

    aggregate(args.config, args.ablation, results_dir=args.results_dir, out_dir=args.out_dir)


def _cmd_noise(args: argparse.Namespace) -> None:
    from newlogic.evaluation.noise import evaluate_noise_rejection

    evaluate_noise_rejection(
        args.model_dir, args.out, data_dir=args.data_dir, device=args.device, n_samples=args.n_samples, seed=args.seed
    )


def _cmd_figures_model(args: argparse.Namespace) -> None:
    from newlogic.figures.registry import make_model_figures

    make_model_figures(
        args.model_dir, args.out_dir, data_dir=args.data_dir, device=args.device,
        results=args.results, seed=args.seed, options=args.options,
    )


def _cmd_figures_ablation(args: argparse.Namespace) -> None:
    from newlogic.figures.registry import make_ablation_figures

    make_ablation_figures(args.results, args.out_dir, labels=args.labels, title=args.title)


def _cmd_figures_depth(args: argparse.Namespace) -> None:
    from newlogic.figures.registry import make_depth_figure

    make_depth_figure(args.depth_json, args.out_dir)


def _cmd_download(args: argparse.Namespace) -> None:
    from newlogic.data import download_dataset

    print(download_dataset(args.dataset, args.data_dir))


def _cmd_inspect_depth(args: argparse.Namespace) -> None:
    from newlogic.evaluation.depth import run_depth_experiment

    run_depth_experiment(layers=args.layers, width=args.width, seed=args.seed, out=args.out)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="newlogic", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one model into a model directory (resumes by itself)")
    train.add_argument("--dataset", required=True, help="digits, mnist or cifar10")
    train.add_argument("--model", required=True, help="model name, e.g. relog-maxout_4 (SPEC §1 grammar)")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--epochs", type=int, help="overrides training.epochs")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--training", type=_json_object, default={}, help="TrainOptions overrides as JSON")
    train.add_argument("--architecture", type=_json_object, default={}, help="ArchOptions overrides as JSON")
    _common(train)
    train.set_defaults(run=_cmd_train)

    attack = commands.add_parser("attack", help="run one attack setting on one trained model")
    attack.add_argument("--model-dir", type=Path, required=True)
    attack.add_argument("--attack", required=True, help="attack name, e.g. fgsm, bim, cw_l2")
    attack.add_argument("--out", type=Path, required=True, help="result JSON to write (.npz beside it)")
    attack.add_argument("--eps", type=float, help="perturbation bound")
    attack.add_argument("--preset", help="paper or strong")
    attack.add_argument("--param", type=_key_value, action="append", default=[], help="KEY=VALUE attack parameter")
    attack.add_argument("--setting", type=_json_object, default={}, help="attack parameters as JSON")
    attack.add_argument("--limit", type=int, help="attack only the first N test samples")
    attack.add_argument("--batch-size", type=int, help="images per batch (default: the preset's)")
    attack.add_argument("--seed", type=int, default=0, help="seed for the test-set order and random starts")
    attack.add_argument("--surrogate-dir", type=Path, help="model directory of the surrogate (transfer)")
    _common(attack)
    attack.set_defaults(run=_cmd_attack)

    checks = commands.add_parser("checks", help="gradient-masking checks over one model's attack results")
    checks.add_argument("--results", type=Path, nargs="+", required=True, help="result JSONs of one model")
    checks.add_argument("--out", type=Path, required=True, help="checks.json to write")
    checks.set_defaults(run=_cmd_checks)

    aggregate = commands.add_parser("aggregate", help="tabulate an ablation's results (CSV, Markdown, LaTeX)")
    aggregate.add_argument("--config", required=True, help="workflow config: YAML/JSON file or inline {...}")
    aggregate.add_argument("--ablation", required=True, help="ablation name in the config")
    aggregate.add_argument("--results-dir", type=Path, default=Path("results"))
    aggregate.add_argument("--out-dir", type=Path, default=Path("results/tables"))
    aggregate.set_defaults(run=_cmd_aggregate)

    noise = commands.add_parser("noise", help="rejection of uniform-noise and scrambled images by one model")
    noise.add_argument("--model-dir", type=Path, required=True)
    noise.add_argument("--out", type=Path, required=True, help="noise.json to write")
    noise.add_argument("--n-samples", type=int, default=1000, help="noise and scrambled images each")
    noise.add_argument("--seed", type=int, default=0)
    _common(noise)
    noise.set_defaults(run=_cmd_noise)

    figures = commands.add_parser("figures", help="the study's figures as PNG and PDF (SPEC §6)")
    figure_kinds = figures.add_subparsers(dest="figure_kind", required=True)
    model_figures = figure_kinds.add_parser("model", help="conv1 weights, top patches, interpolation, "
                                            "confidence histograms, adversarial gallery of one model")
    model_figures.add_argument("--model-dir", type=Path, required=True)
    model_figures.add_argument("--out-dir", type=Path, required=True)
    model_figures.add_argument("--results", type=Path, nargs="*", default=[], help="the model's result JSONs")
    model_figures.add_argument("--options", type=_json_object, default={}, help="FigureOptions overrides as JSON")
    model_figures.add_argument("--seed", type=int, default=0)
    _common(model_figures)
    model_figures.set_defaults(run=_cmd_figures_model)
    ablation_figures = figure_kinds.add_parser("ablation", help="accuracy versus ε per attack and model")
    ablation_figures.add_argument("--results", type=Path, nargs="+", required=True)
    ablation_figures.add_argument("--out-dir", type=Path, required=True)
    ablation_figures.add_argument("--labels", type=_json_object, default={}, help="model name → label, as JSON")
    ablation_figures.add_argument("--title", default="")
    ablation_figures.set_defaults(run=_cmd_figures_ablation)
    depth_figure = figure_kinds.add_parser("depth", help="the depth-propagation plot from `inspect depth --out`")
    depth_figure.add_argument("--depth-json", type=Path, required=True)
    depth_figure.add_argument("--out-dir", type=Path, required=True)
    depth_figure.set_defaults(run=_cmd_figures_depth)

    download = commands.add_parser("download", help="fetch a dataset (needs internet: run on a login node)")
    download.add_argument("--dataset", required=True)
    download.add_argument("--data-dir", type=Path, default=Path("data"))
    download.set_defaults(run=_cmd_download)

    inspect = commands.add_parser("inspect", help="analyses of the study (SPEC §6)")
    analyses = inspect.add_subparsers(dest="analysis", required=True)
    depth = analyses.add_parser("depth", help="activations through 100 Kaiming-initialised layers, ReLU vs ReLog")
    depth.add_argument("--layers", type=int, default=100)
    depth.add_argument("--width", type=int, default=256)
    depth.add_argument("--seed", type=int, default=0)
    depth.add_argument("--out", type=Path, help="JSON file for the per-layer statistics")
    depth.set_defaults(run=_cmd_inspect_depth)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: a ``UserError`` becomes one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    warnings.simplefilter("default")
    warnings.formatwarning = lambda message, category, *_: f"warning: {message}\n"
    try:
        args.run(args)
    except UserError as error:
        print(f"newlogic {args.command}: error: {error}", file=sys.stderr)
        return USER_ERROR_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
