"""Software environments: environment.yml, workflow/envs/*.yaml and pyproject.toml agree on every dependency.

No conda can be installed here, so instead of building the environments this test compares
their requirement lists: each environment lists every runtime dependency of pyproject.toml
(environment.yml also the ``workflow`` and ``test`` extras) with the same bounds, or with an
exact pin that satisfies them, and two environments never pin a package differently.
"""

import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DEV_ENV = ROOT / "environment.yml"
WORKFLOW_ENVS = sorted((ROOT / "workflow" / "envs").glob("*.yaml"))
SELF = canonicalize_name(PYPROJECT["name"])


def _requirements(lines: list[str]) -> dict[str, Requirement]:
    """Requirements by canonical name; the package itself (``newlogic[...]``) is left out."""
    parsed = [Requirement(line) for line in lines]
    return {canonicalize_name(r.name): r for r in parsed if canonicalize_name(r.name) != SELF}


def _pyproject(extras: bool) -> dict[str, Requirement]:
    lines = list(PYPROJECT["dependencies"])
    if extras:
        lines += [line for group in PYPROJECT["optional-dependencies"].values() for line in group]
    return _requirements(lines)


def _environment(path: Path) -> tuple[list[str], dict[str, Requirement]]:
    """The conda packages and the pip requirements of a conda environment file (``-e`` lines left out)."""
    dependencies = yaml.safe_load(path.read_text())["dependencies"]
    conda = [entry for entry in dependencies if isinstance(entry, str)]
    pip = [line for entry in dependencies if isinstance(entry, dict) for line in entry.get("pip", [])]
    return conda, _requirements([line for line in pip if not line.startswith("-")])


def _disagreements(env: dict[str, Requirement], wanted: dict[str, Requirement]) -> list[str]:
    problems = [f"{name}: missing" for name in sorted(wanted.keys() - env.keys())]
    problems += [f"{name}: not in pyproject.toml" for name in sorted(env.keys() - wanted.keys())]
    for name in sorted(env.keys() & wanted.keys()):
        have, want = env[name].specifier, wanted[name].specifier
        pins = [spec.version for spec in have if spec.operator == "=="]
        if str(have) != str(want) and not (len(pins) == 1 and want.contains(pins[0], prereleases=True)):
            problems.append(f"{name}: {have or 'unbounded'} here, {want or 'unbounded'} in pyproject.toml")
    return problems


@pytest.mark.parametrize(("path", "extras"), [(DEV_ENV, True)] + [(path, False) for path in WORKFLOW_ENVS],
                         ids=lambda value: value.name if isinstance(value, Path) else str(value))
def test_environment_lists_every_dependency_with_the_pyproject_bounds(path: Path, extras: bool) -> None:
    conda, pip = _environment(path)
    assert _disagreements(pip, _pyproject(extras)) == []
    floor = PYPROJECT["requires-python"].removeprefix(">=")
    assert f"python={floor}" in conda


def test_environments_pin_alike() -> None:
    assert WORKFLOW_ENVS, "workflow/envs/ has no environment"
    envs = {path.name: _environment(path)[1] for path in [DEV_ENV, *WORKFLOW_ENVS]}
    pins: dict[str, set[str]] = {}
    for requirements in envs.values():
        for name, requirement in requirements.items():
            pins.setdefault(name, set()).add(str(requirement.specifier))
    assert {name: specs for name, specs in pins.items() if len(specs) > 1} == {}


def test_disagreements_are_found() -> None:
    wanted = _requirements(["torch>=2.1", "numpy"])
    assert _disagreements(_requirements(["torch==2.14.1", "numpy"]), wanted) == []
    assert _disagreements(_requirements(["torch==2.0", "numpy", "scipy"]), wanted) == [
        "scipy: not in pyproject.toml", "torch: ==2.0 here, >=2.1 in pyproject.toml"]
    assert _disagreements(_requirements(["torch>=2.1"]), wanted) == ["numpy: missing"]
