"""Workflow overhead (issue 13): the demo's evaluation as one process per setting (before) and one per model (now).

The same config, the demo (``config/config.yaml``: its models, epochs and attack settings with
their own ``limit``s), one seed, runs through both paths, job after job, each job with the
command its workflow rule runs (``OMP_NUM_THREADS=1``, the rules' one thread). ``--models``,
``--epochs`` and ``--limit`` cut it down for a quick look:

- ``train``: ``newlogic train`` per model, run once (its jobs count in both paths);
- old path: ``newlogic attack`` per (model, setting), then ``newlogic noise`` and ``newlogic checks``
  per model (the rules ``attack``, ``noise`` and ``checks`` of the per-setting workflow);
- new path: ``newlogic evaluate`` per model (every setting, noise and checks in one process).

Job seconds are each command's wall time, what Snakemake's ``benchmarks/`` files record as ``s``;
useful seconds are the jobs' own timers: ``training_seconds`` (``metrics.json``) and the attacks'
crafting ``seconds_total`` (every result JSON). Prints ``name value`` lines:
``useful_fraction_old``, ``useful_fraction_new`` (training + crafting seconds over job seconds),
``wall_ratio`` (new job seconds over old: the jobs run one at a time), the job seconds and job
counts of each path (``job_seconds_train``: the shared training jobs), the seconds no timer covers
per training job and per evaluation job (``untimed_seconds_per_train_job``,
``untimed_seconds_per_evaluate_job``), and ``results_identical n/N`` (both paths' result arrays
compared). ``import_seconds_torch`` and ``import_seconds_dynamo`` are the fastest of three starts
of ``python -c "import torch"`` and what ``import torch._dynamo`` adds (every optimiser step of
torch 2.14 imports it); ``useful_fraction_bound_new`` is the new path's fraction if every job cost
nothing but its useful seconds and these imports (``torch`` in each job, ``torch._dynamo`` in each
training job): the most any change inside newlogic could reach. Wall times grow with the
machine's load: the load average at the start and the end goes to stderr. Figures, tables and
the depth analysis are the same jobs in both workflows and are left out.

    .venv/bin/python bench/workflow_overhead.py [--models N] [--epochs E] [--limit L] [--workdir DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from newlogic.attacks.request import attack_request
from newlogic.store import paths
from newlogic.study import ablations

REPO = Path(__file__).resolve().parents[1]
NEWLOGIC = [sys.executable, "-m", "newlogic.cli"]


def run_job(command: list[str], log: Path) -> float:
    """Run one job's command (its output to ``log``); returns its wall seconds."""
    start = time.perf_counter()
    with log.open("w") as out:
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - start


def import_seconds(modules: str) -> float:
    """The fastest of three ``python -c "import <modules>"`` runs, in wall seconds (Python's own start included)."""
    return min(run_job([sys.executable, "-c", f"import {modules}"], Path(os.devnull)) for _ in range(3))


def crafting_seconds(results: list[Path]) -> float:
    return sum(json.loads(path.read_text())["seconds_total"] for path in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, help="the demo's first N models (default: all)")
    parser.add_argument("--epochs", type=int, help="default: the demo's")
    parser.add_argument("--limit", type=int, help="at most this many images per attack setting (default: its own)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workdir", type=Path, help="default: a fresh temporary folder")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="newlogic-overhead-"))
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    dataset, seed = config["dataset"], 0
    models = [entry.name for entry in next(iter(ablations(config).values())).models][: args.models]
    # a transfer setting crafts on a trained model of the bench (the demo's: relu, its first)
    settings = config["attacks"]
    if args.limit is not None:
        settings = {name: {**setting, "limit": min(setting.get("limit", args.limit), args.limit)}
                    for name, setting in settings.items()}
    training_options = {**config.get("training", {}), **({} if args.epochs is None else {"epochs": args.epochs})}
    common = ["--data-dir", str(work / "data"), "--device", args.device]
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"workdir {work}; models {', '.join(models)}; {len(settings)} settings; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)

    train_seconds, training = 0.0, 0.0
    for model in models:
        model_dir = paths.model_dir(work / "models", dataset, model, seed)
        train_seconds += run_job([*NEWLOGIC, "train", "--dataset", dataset, "--model", model, "--out", str(model_dir),
                                  "--seed", str(seed), "--training", json.dumps(training_options),
                                  "--architecture", json.dumps(config.get("architecture", {})), *common],
                                 logs / f"train-{model}.log")
        training += json.loads((model_dir / paths.METRICS_FILE).read_text())["training_seconds"]

    paths_by = {"old": [], "new": []}
    job_seconds = {"old": train_seconds, "new": train_seconds}
    jobs = {"old": len(models), "new": len(models)}
    surrogates = {name: str(paths.model_dir(work / "models", dataset, name, seed)) for name in models}
    for model in models:
        model_dir = surrogates[model]
        old = [paths.result_json(work / "old", dataset, model, seed, name) for name in settings]
        for name, out in zip(settings, old, strict=True):
            request = attack_request(name, settings[name], dataset)
            options = [f"--{key.replace('_', '-')}={value}" for key, value in
                       (("limit", request.limit), ("batch_size", request.batch_size),
                        ("surrogate_dir", request.surrogate and surrogates[request.surrogate])) if value is not None]
            job_seconds["old"] += run_job([*NEWLOGIC, "attack", "--model-dir", model_dir, "--setting",
                                           json.dumps(request.attack), *options, "--seed", str(seed),
                                           "--out", str(out), *common], logs / f"old-{model}-{name}.log")
        job_seconds["old"] += run_job([*NEWLOGIC, "noise", "--model-dir", model_dir, "--seed", str(seed), "--out",
                                       str(paths.noise_json(work / "old", dataset, model, seed)), *common],
                                      logs / f"old-{model}-noise.log")
        job_seconds["old"] += run_job([*NEWLOGIC, "checks", "--results", *map(str, old), "--out",
                                       str(paths.checks_json(work / "old", dataset, model, seed))],
                                      logs / f"old-{model}-checks.log")
        jobs["old"] += len(settings) + 2
        new = [paths.result_json(work / "new", dataset, model, seed, name) for name in settings]
        job_seconds["new"] += run_job([*NEWLOGIC, "evaluate", "--model-dir", model_dir, "--settings",
                                       json.dumps(settings), "--surrogates", json.dumps(surrogates),
                                       "--out-dir", str(new[0].parent), "--noise-out",
                                       str(paths.noise_json(work / "new", dataset, model, seed)), "--checks-out",
                                       str(paths.checks_json(work / "new", dataset, model, seed)), "--seed",
                                       str(seed), *common], logs / f"new-{model}.log")
        jobs["new"] += 1
        paths_by["old"] += old
        paths_by["new"] += new

    identical = 0
    for old, new in zip(paths_by["old"], paths_by["new"], strict=True):
        with np.load(old.with_suffix(".npz")) as a, np.load(new.with_suffix(".npz")) as b:
            identical += a.files == b.files and all(np.array_equal(a[name], b[name]) for name in a.files)
    useful = {path: training + crafting_seconds(paths_by[path]) for path in paths_by}
    torch_import = import_seconds("torch")
    dynamo_import = import_seconds("torch, torch._dynamo") - torch_import
    bound = useful["new"] + jobs["new"] * torch_import + len(models) * dynamo_import
    print(f"training_seconds {training:.1f}")
    print(f"job_seconds_train {train_seconds:.1f}")
    for path in ("old", "new"):
        print(f"jobs_{path} {jobs[path]}")
        print(f"job_seconds_{path} {job_seconds[path]:.1f}")
        print(f"useful_seconds_{path} {useful[path]:.1f}")
        print(f"useful_fraction_{path} {useful[path] / job_seconds[path]:.3f}")
    print(f"untimed_seconds_per_train_job {(train_seconds - training) / len(models):.1f}")
    evaluate_untimed = job_seconds["new"] - train_seconds - (useful["new"] - training)
    print(f"untimed_seconds_per_evaluate_job {evaluate_untimed / len(models):.1f}")
    print(f"import_seconds_torch {torch_import:.2f}")
    print(f"import_seconds_dynamo {dynamo_import:.2f}")
    print(f"useful_fraction_bound_new {useful['new'] / bound:.3f}")
    print(f"wall_ratio {job_seconds['new'] / job_seconds['old']:.3f}")
    print(f"results_identical {identical}/{len(paths_by['new'])}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end", file=sys.stderr)


if __name__ == "__main__":
    main()
