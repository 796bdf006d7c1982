"""Per-job CPU cost of a config (issue 12): what sizes the demo's and config/mnist5k.yaml's epochs and limits.

For each model of the config's ablations, one seed: ``newlogic train`` for ``--epochs`` epochs
(default 1), then ``newlogic evaluate`` with every attack setting the ablations give it (their own
``limit``s), noise and checks, one process per model as the workflow runs it (``OMP_NUM_THREADS=1``).
A job's CPU seconds are its user + system time (``os.wait4``), which a busy machine inflates
far less than wall time. ``startup`` is the CPU time of a process that imports newlogic and loads
the data set. The estimate scales training to the config's epochs (the timed epochs, negatives
off in the first, stand for every epoch; a model with negatives counts the epochs after the first
twice) and multiplies by the seeds:

    estimate_cpu_s = seeds · Σ_models (startup + (train_s − startup) / timed_epochs · epochs' + evaluate_s)

Prints ``name value`` lines: ``startup_cpu_s``, ``train_cpu_s[model]``, ``evaluate_cpu_s[model]``, ``estimate_cpu_s``
and ``estimate_wall_min_2cores`` (the estimate over two cores at ``--useful`` of the time, 0.85 by
default: Snakemake's own and the figures' jobs are not measured).

    .venv/bin/python bench/config_cost.py [--config config/config.yaml] [--models 5] [--workdir DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from newlogic.spec import parse_model_name
from newlogic.study import ablations

REPO = Path(__file__).resolve().parents[1]
NEWLOGIC = Path(sys.executable).parent / "newlogic"
# what a train job does before its first step: imports and the data set
STARTUP = ("import newlogic.cli, newlogic.training.run; from newlogic.data import load_dataset; "
           "load_dataset({dataset!r})")


def cpu_seconds(command: list[str], log: Path) -> float:
    """Run ``command`` (stdout and stderr to ``log``); its user + system CPU seconds; a failure stops the bench."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed; see {log}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config/config.yaml")
    parser.add_argument("--models", type=int, help="only the first N models (default: all)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs to time; the estimate scales to the config's")
    parser.add_argument("--useful", type=float, default=0.85, help="fraction of the wall time the jobs use")
    parser.add_argument("--workdir", type=Path, help="default: a fresh temporary folder")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="newlogic-cost-"))
    work.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(args.config.read_text())
    dataset, seeds = config["dataset"], len(config.get("seeds", [0]))
    epochs = int(config.get("training", {}).get("epochs", 20))
    settings_of: dict[str, set[str]] = {}
    for ablation in ablations(config).values():
        for entry in ablation.models:
            settings_of.setdefault(entry.name, set()).update(ablation.settings)
    models = list(settings_of)[: args.models]
    common = ["--device", "cpu", "--data-dir", str(work / "data")]
    overrides = ["--training", json.dumps(config.get("training", {})),
                 "--architecture", json.dumps(config.get("architecture", {}))]
    startup = cpu_seconds([sys.executable, "-c", STARTUP.format(dataset=dataset)], work / "startup.log")
    print(f"startup_cpu_s {startup:.1f}")
    total = 0.0
    for model in models:
        model_dir = work / "models" / model
        train = cpu_seconds([str(NEWLOGIC), "train", "--dataset", dataset, "--model", model, "--out", str(model_dir),
                             *overrides, "--epochs", str(args.epochs), *common], work / f"train_{model}.log")
        scaled = epochs + (epochs - 1 if parse_model_name(model).negatives else 0)
        print(f"train_cpu_s[{model}] {train:.1f}")
        settings = {name: config["attacks"][name] for name in sorted(settings_of[model])}
        surrogates = {s["surrogate"]: str(work / "models" / s["surrogate"]) for s in settings.values()
                      if s.get("surrogate")}
        evaluate = cpu_seconds([str(NEWLOGIC), "evaluate", "--model-dir", str(model_dir),
                                "--settings", json.dumps(settings), "--surrogates", json.dumps(surrogates),
                                "--out-dir", str(work / "results" / model), "--noise-out", str(work / f"{model}.noise"),
                                "--checks-out", str(work / f"{model}.checks"), *common], work / f"evaluate_{model}.log")
        print(f"evaluate_cpu_s[{model}] {evaluate:.1f}")
        total += seeds * (startup + (train - startup) / args.epochs * scaled + evaluate)
    print(f"estimate_cpu_s {total:.0f}")
    print(f"estimate_wall_min_2cores {total / 2 / args.useful / 60:.1f}")


if __name__ == "__main__":
    main()
