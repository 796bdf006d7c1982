"""Check ``disk``: free space where the results go against an estimate from the plan."""

import shutil
from collections.abc import Iterator
from typing import Any

from newlogic.datasets import dataset_info
from newlogic.preflight.findings import Context, Finding

# A rough upper bound of the disk space one attack setting's result (JSON and per-sample NPZ) takes; one
# training run's (weights, checkpoint, logs, figures) is its dataset entry's ``run_bytes``.
RESULT_BYTES = 2 * 2**20


def plan_bytes(config: dict[str, Any]) -> tuple[int, int, int]:
    """(training runs, attack results, bytes): the plan, sized with the dataset's ``run_bytes`` and ``RESULT_BYTES``."""
    from newlogic.study import ablations

    runs: dict[tuple[str, int], set[str]] = {}
    for ablation in ablations(config).values():
        for entry in ablation.models:
            for seed in ablation.seeds:
                runs.setdefault((entry.name, seed), set()).update(ablation.evaluated)
    results = sum(len(settings) for settings in runs.values())
    per_run = dataset_info(config["dataset"]).run_bytes
    return len(runs), results, len(runs) * per_run + results * RESULT_BYTES


def size_text(size: int) -> str:
    """Bytes for a reader: MiB below 1 GiB (``20.0 MiB``), GiB from there (``3.2 GiB``)."""
    return f"{size / 2**20:.1f} MiB" if size < 2**30 else f"{size / 2**30:.1f} GiB"


def check_disk(context: Context) -> Iterator[Finding]:
    """Free space where the results go against the plan's estimate (``plan_bytes``)."""
    runs, results, needed = plan_bytes(context.config)
    existing = next(path for path in (context.results_dir.resolve(), *context.results_dir.resolve().parents)
                    if path.exists())
    free = shutil.disk_usage(existing).free
    estimate = f"{runs} training runs and {results} results need about {size_text(needed)}"
    if free < needed:
        yield Finding("disk", "blocking", f"{estimate}; {existing} has {size_text(free)} free",
                      "free space there, or give snakemake a --directory on a larger file system")
    else:
        yield Finding("disk", "ok", f"{estimate}; {size_text(free)} free under {existing}")
