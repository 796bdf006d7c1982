"""The CLI explains itself: `newlogic list` follows the registries, every option has help, every command an example."""

import argparse
import re
import shlex
import subprocess
import sys
from importlib import metadata

import pytest

from newlogic.attacks.catalog import CATALOG, PRESETS
from newlogic.cli import build_parser, main
from newlogic.cli_help import EXAMPLES, subcommands
from newlogic.datasets import DATASET_INFO
from newlogic.listing import LISTINGS, readable_token
from newlogic.spec import TOKENS

LEAVES = [(path, sub) for path, sub in subcommands(build_parser())
          if not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)]


def _listed(what: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["list", what]) == 0
    return capsys.readouterr().out.splitlines()


def test_list_attacks_matches_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _listed("attacks", capsys)
    headers = [line for line in lines if not line.startswith(" ") and not line.startswith("every attack")]
    assert [line.split()[0] for line in headers] == list(CATALOG)
    for name, spec in CATALOG.items():
        start = lines.index(next(line for line in headers if line.split()[0] == name))
        assert spec.description in lines[start] and f"kind {spec.kind}" in lines[start]
        presets = lines[start + 1:start + 1 + len(spec.presets)]
        for line, (preset, defaults) in zip(presets, spec.presets.items(), strict=True):
            assert line.strip().startswith(f"{preset}:")
            assert re.findall(r"(\w+)=", line.split(":", 1)[1]) == list(defaults)


def test_list_presets_datasets_and_tokens_follow_their_registries(capsys: pytest.CaptureFixture[str]) -> None:
    presets = _listed("presets", capsys)
    assert [line.split(":")[0] for line in presets] == list(PRESETS)
    for line in presets:
        preset, names = line.split(": ")
        assert names.split(", ") == [name for name, spec in CATALOG.items() if preset in spec.presets]
    assert [line.split(":")[0] for line in _listed("datasets", capsys)] == list(DATASET_INFO)
    tokens = _listed("tokens", capsys)
    assert [line.split("  (")[0] for line in tokens] == [readable_token(pattern) for pattern in TOKENS]
    assert "max_fit_l1[_<c>]  (regulariser): regularizer=max_fit_l1, regularizer_coef=1.0" in tokens
    assert "relog_<n>  (activation): takes <n>" in tokens
    assert set(LISTINGS) == {"attacks", "presets", "datasets", "tokens"}


def test_list_of_something_unknown_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["list", "optimizers"])
    assert exited.value.code == 2
    assert "invalid choice: 'optimizers'" in capsys.readouterr().err


def test_version_names_the_package_version_and_commit() -> None:
    done = subprocess.run([sys.executable, "-m", "newlogic.cli", "--version"], capture_output=True, text=True,
                          check=True)
    assert re.fullmatch(rf"newlogic {re.escape(metadata.version('newlogic'))} \(commit ([0-9a-f]{{40}}|unknown)"
                        r"(, modified)?\)\n", done.stdout)


@pytest.mark.parametrize(("path", "parser"), LEAVES, ids=[path for path, _ in LEAVES])
def test_every_option_has_help_and_every_command_an_example_that_parses(
    path: str, parser: argparse.ArgumentParser
) -> None:
    missing = [a.dest for a in parser._actions if not a.help and a.help != argparse.SUPPRESS]
    assert missing == [], f"newlogic {path}: options without help"
    assert path in EXAMPLES, f"newlogic {path} has no example in newlogic.cli_help.EXAMPLES"
    command = shlex.split(EXAMPLES[path])
    assert command[:1 + len(path.split())] == ["newlogic", *path.split()]
    args = build_parser().parse_args(command[1:])
    assert callable(args.run)


def test_help_shows_defaults_and_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["attack", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 0)" in text and "(default: auto)" in text and "(default: None)" not in text
    assert "example: newlogic attack" in text


def test_shell_completion_completes_the_listings() -> None:
    """argcomplete's protocol: the shell sets COMP_LINE and reads the candidates from file descriptor 8."""
    line = "newlogic list at"
    env = {"_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": " ", "COMP_LINE": line, "COMP_POINT": str(len(line)),
           "COMP_TYPE": "9", "PATH": "/usr/bin:/bin"}
    script = f"{shlex.quote(sys.executable)} -m newlogic.cli 8>&1 9>/dev/null"
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["attacks"]
