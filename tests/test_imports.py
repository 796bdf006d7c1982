"""newlogic imports and lists its registries without cleverhans, torchattacks, TensorFlow or Snakemake installed.

Snakemake and its Slurm plugin are the `workflow` extra (pyproject.toml): the library never imports them.
"""

import subprocess
import sys

BLOCKED = ("cleverhans", "torchattacks", "tensorflow", "tensorflow_probability", "snakemake")
CODE = f"""
import sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # "import name" now raises ImportError, as if it were not installed
import newlogic.attacks, newlogic.cli, newlogic.report.summary, newlogic.report.tables, newlogic.training.run
from newlogic.cli import main
assert main(["list", "attacks"]) == 0
"""


def test_newlogic_works_without_the_attack_libraries_until_an_attack_runs() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fgsm" in done.stdout and "autoattack" in done.stdout
