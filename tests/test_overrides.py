"""Command-line overrides of the workflow config: lists, named runs, typos named by the dry run."""

import re
from pathlib import Path

import yaml
from test_workflow import REPO, planned_jobs, snakemake

CONFIG = REPO / "config" / "config.yaml"
# Snakemake's own notices: "Config file … is extended by additional config …" and, for the workflow's default
# profile (profiles/default), "Using workflow specific profile … for setting default command line arguments."
NOTICES = ("Config file", "Using workflow specific profile")


def demo_models() -> set[str]:
    config = yaml.safe_load(CONFIG.read_text())
    return {e["name"] if isinstance(e, dict) else e for a in config["ablations"].values() for e in a["models"]}


def test_a_list_of_seeds_on_the_command_line_works_as_the_readme_shows(tmp_path: Path) -> None:
    # README: snakemake -n --config seeds='[0,1,2]'  (the shell hands snakemake `seeds=[0,1,2]`)
    done = snakemake("-n", "--configfile", str(CONFIG), "--config", "seeds=[0,1,2]", cwd=tmp_path)
    output = done.stdout + done.stderr
    assert planned_jobs(output)["train"] == 3 * len(demo_models())
    assert {int(seed) for seed in re.findall(r"/seed(\d+)/", output)} == {0, 1, 2}


def test_a_named_run_writes_apart_from_the_default_results(tmp_path: Path) -> None:
    done = snakemake("-n", "--configfile", str(CONFIG), "--config", "run=lr-sweep", "training={lr: 0.01}",
                     cwd=tmp_path)
    outputs = re.findall(r"^\s+output: (.+)$", done.stdout + done.stderr, re.MULTILINE)
    files = [name.strip() for line in outputs for name in line.split(",")]
    assert files and all(name.startswith("results/runs/lr-sweep/") for name in files), files
    for kind in ("log", "benchmark"):  # two runs' jobs never overwrite each other's logs and benchmarks
        named = re.findall(rf"^\s+{kind}: (.+)$", done.stdout + done.stderr, re.MULTILINE)
        assert named and all(name.strip().startswith(f"{kind}s/runs/lr-sweep/") for name in named), named

    bad = snakemake("-n", "--configfile", str(CONFIG), "--config", "run=a/b", cwd=tmp_path, check=False)
    assert bad.returncode != 0 and "run: breaks the schema's pattern" in bad.stderr and "(got 'a/b')" in bad.stderr


def test_a_typo_under_training_or_architecture_fails_the_dry_run_with_one_line(tmp_path: Path) -> None:
    for section, typo in (("training", "epochz"), ("architecture", "widht")):
        done = snakemake("-n", "--configfile", str(CONFIG), "--config", f"{section}={{{typo}: 1}}", cwd=tmp_path,
                         check=False)
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line and not line.startswith(NOTICES)]
        assert done.returncode != 0 and len(lines) == 1, lines
        assert typo in lines[0] and section in lines[0] and "valid keys" in lines[0], lines
