"""A non-editable install works outside the repository: the package carries the repository files it reads.

The project is built (no build isolation, no index: offline, with this environment's setuptools) from
a copy of what a wheel takes, into a target folder; the commands then run from another folder with
that target first on the path, so nothing is read from the repository.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILT_FROM = ("newlogic", "config/published", "workflow/schemas", "pyproject.toml", "README.md", "LICENSE")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The target folder of ``pip install --no-deps --target`` from a copy of the package's sources."""
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    for name in BUILT_FROM:
        copy = source / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, copy)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, capture_output=True, timeout=300)
    return target


def _run(installed: Path, *command: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    done = subprocess.run(command, cwd=installed.parent, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_newlogic_list_runs_from_a_non_editable_install(installed: Path) -> None:
    where = _run(installed, sys.executable, "-c", "import newlogic; print(newlogic.__file__)")
    assert Path(where.strip()).is_relative_to(installed)
    command = str(installed / "bin" / "newlogic")  # the installed console script
    assert _run(installed, command, "list", "datasets").splitlines()[0].startswith("digits: ")
    assert "pgd  (norm linf, kind iterative)" in _run(installed, command, "list", "attacks")


def test_the_installed_package_carries_the_schemas_and_published_tables(installed: Path) -> None:
    code = ("from newlogic.repo_files import CONFIG_SCHEMA, PUBLISHED_DIR, SUMMARY_SCHEMA\n"
            "for path in (CONFIG_SCHEMA, SUMMARY_SCHEMA, *PUBLISHED_DIR.glob('*.yaml')):\n"
            "    print(path, path.is_file() and not path.is_symlink())\n")
    lines = _run(installed, sys.executable, "-c", code).splitlines()
    assert len(lines) == 2 + len(list((ROOT / "config/published").glob("*.yaml")))
    assert all(line.startswith(str(installed)) and line.endswith(" True") for line in lines), lines
