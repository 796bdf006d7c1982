"""What ``newlogic --help`` shows besides the options: defaults, one example per subcommand, the version.

``explain(parser)`` gives every (sub)parser ``HelpFormatter`` (each option's default, examples as
written) and its example from ``EXAMPLES``, keyed by the subcommand path (``"figures model"``).
``VersionAction`` prints the package version and the git commit of the source tree.
"""

import argparse
import os
from collections.abc import Iterator, Sequence
from importlib import metadata
from typing import Any

EXAMPLES: dict[str, str] = {
    "": "newlogic train --dataset digits --model relog-maxout_4 --epochs 2 --out results/models/digits/"
        "relog-maxout_4/seed0\n  newlogic list attacks",
    "train": "newlogic train --dataset digits --model relog-maxout_4 --epochs 2 "
             "--out results/models/digits/relog-maxout_4/seed0",
    "attack": "newlogic attack --model-dir results/models/digits/relog-maxout_4/seed0 --attack fgsm --eps 0.3 "
              "--limit 100 --out results/attacks/digits/relog-maxout_4/seed0/fgsm_0.3.json",
    "evaluate": "newlogic evaluate --model-dir results/models/digits/relog-maxout_4/seed0 "
                "--settings '{\"fgsm_0.3\": {\"attack\": \"fgsm\", \"eps\": 0.3, \"limit\": 100}}' "
                "--out-dir results/attacks/digits/relog-maxout_4/seed0",
    "checks": "newlogic checks --results results/attacks/digits/relog-maxout_4/seed0",
    "verify": "newlogic verify results --recompute 5",
    "aggregate": "newlogic aggregate --config config/config.yaml --ablation mnist5k-demo",
    "reproduction": "newlogic reproduction --config config/config.yaml --ablation mnist5k-demo "
                    "--figure-dir results/figures/mnist5k-demo",
    "landing": "newlogic landing --summary results/tables/mnist5k-demo.summary.json --config config/config.yaml "
               "--figures-dir results/figures --out results/report/landing.rst",
    "noise": "newlogic noise --model-dir results/models/digits/relog-maxout_4/seed0 --out noise.json",
    "figures": "newlogic figures ablation --config config/config.yaml --ablation mnist5k-demo --out-dir figures",
    "figures model": "newlogic figures model --model-dir results/models/digits/relog-maxout_4/seed0 "
                     "--out-dir results/figures/digits/relog-maxout_4/seed0",
    "figures ablation": "newlogic figures ablation --config config/config.yaml --ablation mnist5k-demo "
                        "--out-dir results/figures/mnist5k-demo",
    "figures depth": "newlogic figures depth --depth-json results/analysis/depth.json --out-dir results/figures",
    "download": "newlogic download --dataset mnist --data-dir data",
    "preflight": "newlogic preflight --profile cluster/local-slurm --configfile config/paper-mnist.yaml",
    "inspect": "newlogic inspect depth --out results/analysis/depth.json",
    "inspect depth": "newlogic inspect depth --layers 100 --width 256 --out results/analysis/depth.json",
    "list": "newlogic list attacks",
}
COMPLETION = 'shell completion (bash, zsh): eval "$(register-python-argcomplete newlogic)"'


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; each option's help ends with its default (unless none, empty or stated)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        empty = isinstance(action.default, str | list | dict | tuple) and not action.default
        if action.default in (None, argparse.SUPPRESS) or empty or action.required or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


def version() -> str:
    """``newlogic <version> (commit <sha>[, modified])``: the installed version and the source tree's commit."""
    from newlogic.store.provenance import git_state

    git = git_state()
    commit = git["commit"] or "unknown"
    return f"newlogic {metadata.version('newlogic')} (commit {commit}{', modified' if git['dirty'] else ''})"


class VersionAction(argparse.Action):
    """``--version``: print ``version()`` and exit (the commit is looked up only when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(version())
        parser.exit()


def subcommands(parser: argparse.ArgumentParser, path: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)parser with its subcommand path: ``("", top)``, ``("train", …)``, ``("figures model", …)``."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from subcommands(sub, f"{path} {name}".strip())


def explain(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every (sub)parser the defaults-showing formatter and its example; the top one the completion hint."""
    for path, sub in subcommands(parser):
        sub.formatter_class = HelpFormatter
        if path in EXAMPLES:
            sub.epilog = f"example:\n  {EXAMPLES[path]}" + (f"\n\n{COMPLETION}" if not path else "")
    return parser


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Shell completion through argcomplete, imported only when the shell asks (``_ARGCOMPLETE`` is set)."""
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)
