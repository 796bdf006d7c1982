"""Check ``data``: the config's dataset is bundled, on disk, or fetched first by the ``download`` rule.

The files are those of the dataset's entry (``newlogic.datasets.required_files``), so a dataset
registered later is checked with no edit here.
"""

from collections.abc import Iterator
from pathlib import Path

from newlogic.datasets import dataset_info, required_files
from newlogic.preflight.findings import Context, Finding


def check_data(context: Context) -> Iterator[Finding]:
    """The dataset is bundled, on disk, or fetched by the ``download`` rule before the first job."""
    name = context.config["dataset"]
    if dataset_info(name).bundled:
        yield Finding("data", "ok", f"{name} is bundled with a Python package: nothing to fetch")
        return
    data_dir = Path(context.config["data_dir"])  # the schema's default filled in (newlogic.study_loader)
    missing = [path for path in required_files(name, data_dir) if not path.is_file()]
    marker = data_dir / f".{name}.downloaded"  # data_marker in workflow/rules/common.smk
    if not missing:
        yield Finding("data", "ok", f"{name} is in {data_dir}")
    elif marker.exists():
        yield Finding("data", "blocking", f"{name}: {marker} says it was fetched, but {missing[0]} is missing "
                      f"({len(missing)} files)", f"delete {marker} (the download rule then fetches it again) or run "
                      f"`newlogic download --dataset {name} --data-dir {data_dir}`")
    else:
        yield Finding("data", "ok", f"{name} is not in {data_dir} yet: the download rule fetches it first, on this "
                      "node (it needs internet here)")
