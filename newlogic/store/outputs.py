"""The one rule for every output path a command is given (``--out``, ``--out-dir``, ``--noise-out``, ``--checks-out``),
checked before any work (issue 30), and the all-or-nothing write of a set of files.

``check_outputs(outputs, inputs=…, model_dirs=…)`` refuses, in one line naming the option and the path:

- a file output that is an existing directory, or a folder output that is an existing file;
- a file output whose name does not end with a suffix the command writes there (``Output.suffixes``:
  ``attack --out x.npz`` would put the result's JSON in a ``.npz``);
- any path written (the output and its ``companions``: a result's ``.npz``, a table's formats)
  that is an input of the same command (``checks --out`` naming one of its ``--results``);
- a path inside a model directory (one of ``model_dirs``, or whose folder holds one of
  ``MODEL_MARKERS``), or named like a model directory's file (``MODEL_FILES``) (``inspect depth --out M/metrics.json``);
- a reserved file of another kind (``RESERVED_FILES``: ``checks.json`` is written only by the checks)
  and, for an output that is not a result, an existing finished result (a JSON with its ``.npz``
  beside it: ``evaluate --noise-out`` naming one);
- two outputs of one command that are the same file.

``all_or_nothing(out_dir)`` stages several files (aggregate's tables and ``summary.json``) so that
they appear all together or not at all: written into a staging folder beside their targets, then
renamed; on a failure (ENOSPC on the second write, …) the staging folder is removed and no target
is touched.
"""

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from newlogic.errors import UserError
from newlogic.store import paths

MODEL_MARKERS = (paths.METRICS_FILE, paths.WEIGHTS_FILE, paths.CHECKPOINT_FILE, paths.DIVERGED_FILE)  # a folder
# holding one is a model directory (not config.json alone: a project's config may have that name)
MODEL_FILES = (paths.CONFIG_FILE, *MODEL_MARKERS)  # no output may be named like one
CHECKS_KIND, RESULT_KIND = "checks", "result"
RESERVED_FILES = {"checks.json": CHECKS_KIND}  # a file name → the only kind of output that may be written to it
SAMPLES_SUFFIX = ".npz"  # a result's per-sample file beside its JSON: together they are a finished result


@dataclass(frozen=True)
class Output:
    """One output of a command: its ``path`` (None: not asked for), the ``option`` that named it, the ``suffixes``
    the command writes there (empty: a folder), its ``kind`` and the other files written with or inside it."""

    path: Path | None
    option: str
    suffixes: tuple[str, ...]
    kind: str
    companions: tuple[Path, ...] = ()

    @property
    def is_folder(self) -> bool:
        return not self.suffixes


def result_output(path: Path | None, option: str) -> Output:
    """A result's JSON at ``path``, its per-sample ``.npz`` beside it (``newlogic attack --out``)."""
    return Output(path, option, (".json",), RESULT_KIND, () if path is None else (path.with_suffix(SAMPLES_SUFFIX),))


def json_output(path: Path | None, option: str, kind: str) -> Output:
    """One JSON file of ``kind`` (checks, noise, analysis)."""
    return Output(path, option, (".json",), kind)


def folder_output(path: Path | None, option: str, kind: str, names: Iterable[str] = ()) -> Output:
    """A folder, and the files of ``names`` the command writes in it."""
    return Output(path, option, (), kind, () if path is None else tuple(path / name for name in names))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _model_dir_of(path: Path, model_dirs: Sequence[Path]) -> Path | None:
    """The model directory ``path`` lies in (a given one, or a folder holding a model directory's file)."""
    for folder in model_dirs:
        if _inside(path, folder.resolve()):
            return folder
    for folder in (path, path.parent) if path.is_dir() else (path.parent,):  # not every ancestor: the nearest
        if any((folder / name).is_file() for name in MODEL_MARKERS):
            return folder
    return None


def _finished_result(path: Path) -> bool:
    return path.suffix == ".json" and path.is_file() and path.with_suffix(SAMPLES_SUFFIX).is_file()


def _refuse(output: Output, reason: str, remedy: str) -> UserError:
    return UserError(f"{output.option} {output.path} {reason}; {remedy}")


def _check_one(output: Output, path: Path, inputs: Mapping[Path, Path], model_dirs: Sequence[Path]) -> None:
    if output.is_folder:
        if path.exists() and not path.is_dir():
            raise _refuse(output, "is a file", "give the folder to write into")
    elif path.is_dir():
        raise _refuse(output, "is a directory", f"give the file to write, e.g. {path / f'{output.kind}.json'}")
    elif not path.name.endswith(output.suffixes) or path.name in output.suffixes:
        raise _refuse(output, f"does not end with {' or '.join(output.suffixes)}, what it writes",
                      f"name the file e.g. {path.stem or output.kind}{output.suffixes[0]}")
    resolved = path.resolve()
    for written in (resolved, *(companion.resolve() for companion in output.companions)):
        if written in inputs:
            raise _refuse(output, f"would overwrite {inputs[written]}, an input of this command",
                          "write the output elsewhere")
    model_dir = _model_dir_of(resolved, model_dirs)
    if model_dir is not None or (not output.is_folder and path.name in MODEL_FILES):
        raise _refuse(output, f"points into a model directory ({model_dir or path.parent})",
                      "write outputs to their own folder, e.g. results/attacks/...")
    if not output.is_folder and RESERVED_FILES.get(path.name, output.kind) != output.kind:
        raise _refuse(output, f"is reserved for the {RESERVED_FILES[path.name]} of a result folder",
                      "give another file name")
    if output.kind != RESULT_KIND and _finished_result(path):
        raise _refuse(output, f"is a finished result ({path.with_suffix(SAMPLES_SUFFIX).name} beside it)",
                      "give another file")


def check_outputs(outputs: Iterable[Output], *, inputs: Iterable[Path] = (), model_dirs: Iterable[Path | None] = ()
                  ) -> None:
    """Refuse, before any work, an output that breaks the rule of this module (one line, ``UserError``)."""
    read = {Path(path).resolve(): Path(path) for path in inputs}
    folders = [Path(folder) for folder in model_dirs if folder is not None]
    seen: dict[Path, Output] = {}
    for output in outputs:
        if output.path is None:
            continue
        path = Path(output.path)
        _check_one(output, path, read, folders)
        for written in (path.resolve(), *(companion.resolve() for companion in output.companions)):
            if written in seen and seen[written] is not output:
                raise _refuse(output, f"is also written as {seen[written].option} {seen[written].path}",
                              "give each output its own file")
            seen[written] = output


@contextmanager
def all_or_nothing(out_dir: Path) -> Iterator[Path]:
    """A staging folder inside ``out_dir`` for a set of files that must appear all together or not at all.

    What the block writes there is renamed into ``out_dir`` (same file system: each rename atomic)
    once the block ends without an error; on any error (ENOSPC on the second write, …) nothing is
    renamed, and the staging folder with its temporaries is removed either way.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir, prefix=".staging.", suffix=".tmp"))
    try:
        yield staging
        for written in sorted(staging.iterdir()):
            os.replace(written, out_dir / written.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
