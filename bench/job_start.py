"""Seconds from a Slurm job's start to ``newlogic``'s ``main()`` on the local one-node cluster (issue 23).

A cluster job runs ``python -m snakemake`` (the executor's inner snakemake: it parses the whole
workflow again) and then the rule's ``newlogic`` command. This bench submits the demo's first
``train`` job through ``cluster/local-slurm`` with a ``--precommand`` that writes the time the job
started, and a ``newlogic`` on ``PATH`` that imports the real CLI module, writes the time it
reached ``main()`` and stops (so nothing is trained). It prints, best of ``--rounds``:

    job_start_seconds        start of the job's command → newlogic main()
    import_seconds_torch     a cold ``import torch`` on this machine (the bound is this + 1 s)
    job_start_target_met     1 when job_start_seconds <= import_seconds_torch + 1

Needs the local cluster (``bash cluster/local-slurm/start.sh`` as root). Run it on a quiet
machine: ``.venv-slurm/bin/python bench/job_start.py [--repo DIR]`` (``--repo``: another checkout to measure,
e.g. an older commit, run with this interpreter).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHIM = """#!{python}
import os, sys, time
sys.path.insert(0, {repo!r})
from newlogic.cli import main  # noqa: F401  (the import a real job pays before main())
with open(os.environ["NEWLOGIC_BENCH_MARK"] + ".main", "w") as mark:
    mark.write(repr(time.time()))
"""


def _cold_import_torch() -> float:
    clock = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - clock


def _one_job(repo: Path, scratch: Path, index: int) -> float:
    """Submit the first train job of the demo under a fresh run name; seconds from the job's start to main()."""
    mark = scratch / f"job{index}"
    shim_dir = scratch / "bin"
    shim_dir.mkdir(exist_ok=True)
    shim = shim_dir / "newlogic"
    shim.write_text(SHIM.format(python=sys.executable, repo=str(repo)))
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "NEWLOGIC_BENCH_MARK": str(mark), "PYTHONPATH": str(repo)}
    target = f"results/runs/bench-job-start-{index}/models/mnist5k/relu/seed0/metrics.json"
    command = [sys.executable, "-m", "snakemake", "--profile", "cluster/local-slurm", "--config",
               f"run=bench-job-start-{index}", "--precommand", f"date +%s.%N > {mark}.start", "--retries", "0",
               "--latency-wait", "1", target]
    subprocess.run(command, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    shutil.rmtree(repo / f"results/runs/bench-job-start-{index}", ignore_errors=True)
    started, reached = (float(Path(f"{mark}.{part}").read_text()) for part in ("start", "main"))
    return reached - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("sbatch") is None:
        sys.exit("no sbatch: start the local cluster first (bash cluster/local-slurm/start.sh, as root)")
    with tempfile.TemporaryDirectory() as scratch:
        seconds = [_one_job(args.repo.resolve(), Path(scratch), index) for index in range(args.rounds)]
    torch_seconds = min(_cold_import_torch() for _ in range(3))
    best = min(seconds)
    print(f"job_start_seconds {best:.2f}")
    print(f"import_seconds_torch {torch_seconds:.2f}")
    print(f"job_start_target_met {int(best <= torch_seconds + 1)}")


if __name__ == "__main__":
    main()
