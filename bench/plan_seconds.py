"""Planning cost (issue 23): the seconds of ``snakemake -n --quiet`` on every shipped config.

Each config's dry run starts a fresh process (Python, Snakemake, the Snakefile's parse, the config's
validation, the DAG), three times; the median is printed as ``plan_seconds_<config> X`` (config file
name without ``.yaml``). Target on the 2-core development machine, quiet: paper-mnist <= 3 s. Wall
times grow with the machine's load: the load average at the start and the end goes to stderr.

    .venv/bin/python bench/plan_seconds.py [--runs N] [CONFIG ...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def plan_seconds(config: Path, workdir: Path) -> float:
    """Wall seconds of one ``snakemake -n --quiet`` of ``config``, run in ``workdir`` (nothing lands in the repo)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n", "--quiet",
                    "--configfile", str(config)], cwd=workdir, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", type=Path, help="default: every config/*.yaml")
    parser.add_argument("--runs", type=int, default=3, help="dry runs per config; the median is printed")
    args = parser.parse_args()
    configs = args.configs or sorted((REPO / "config").glob("*.yaml"))
    print(f"load average at start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="newlogic-plan-") as workdir:
        for config in configs:
            seconds = statistics.median(plan_seconds(config.resolve(), Path(workdir)) for _ in range(args.runs))
            print(f"plan_seconds_{config.stem} {seconds:.2f}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
