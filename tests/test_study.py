"""The one study loader (``newlogic.study_loader``): strict reading, the schema's defaults, the suite, validation.

The Snakefile prepares the config Snakemake loaded with ``study_from_config``; the CLI and preflight
read a file with ``load_study``: for every shipped config both give the same ``Study``, and the
workflow's config copy is named by the hash of that study's config.
"""

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from snakemake.common.configfile import load_configfile

from newlogic.attacks.suite import SUITE_PREFIX
from newlogic.errors import UserError
from newlogic.preflight import prepared_config
from newlogic.repo_files import CONFIG_SCHEMA
from newlogic.store import paths
from newlogic.study import seeds_from_command_line
from newlogic.study_loader import fill_schema_defaults, load_study, study_from_config

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "config").glob("*.yaml"))
SCHEMA = yaml.safe_load(CONFIG_SCHEMA.read_text(encoding="utf-8"))
DEFAULTS = {key: body["default"] for key, body in SCHEMA["properties"].items() if "default" in body}
MINIMAL = {"dataset": "digits", "attacks": {"fgsm_0.1": {"attack": "fgsm", "eps": 0.1}},
           "ablations": {"demo": {"models": ["relu"]}}}


def minimal() -> dict[str, Any]:
    return copy.deepcopy(MINIMAL)


def test_every_schema_default_is_filled_and_typed_on_the_study() -> None:
    assert {"stats", "seeds", "data_dir", "device", "training", "architecture", "figures"} <= set(DEFAULTS)
    study = load_study(json.dumps(MINIMAL))
    assert {key: study.config[key] for key in DEFAULTS} == DEFAULTS
    assert (study.stats, study.seeds, study.data_dir, study.device) == (
        DEFAULTS["stats"], tuple(DEFAULTS["seeds"]), DEFAULTS["data_dir"], DEFAULTS["device"])
    assert (study.training, study.architecture, study.figures) == ({}, {}, {})
    assert study.run is None and study.landscape is None and study.published == {}
    assert study.ablations["demo"].seeds == tuple(DEFAULTS["seeds"])


def test_a_value_given_is_kept_and_defaults_are_not_shared() -> None:
    first = load_study(json.dumps({**MINIMAL, "stats": "paper", "seeds": [3, 4]}))
    assert first.stats == "paper" and first.seeds == (3, 4)
    second = load_study(json.dumps(MINIMAL))
    second.training["epochs"] = 2
    assert load_study(json.dumps(MINIMAL)).training == {}


def test_defaults_are_filled_at_every_depth_as_snakemake_fills_them() -> None:
    schema = {"type": "object", "properties": {
        "outer": {"type": "object", "default": {}, "properties": {"inner": {"type": "integer", "default": 7}}},
        "kept": {"type": "string", "default": "x"}}}
    config: dict[str, Any] = {"kept": "given"}
    fill_schema_defaults(config, schema)
    assert config == {"kept": "given", "outer": {"inner": 7}}
    broken: dict[str, Any] = {"kept": 5, "outer": {}}  # a config that breaks the schema is filled all the same
    fill_schema_defaults(broken, schema)
    assert broken == {"kept": 5, "outer": {"inner": 7}}


def test_the_strong_suite_is_expanded_and_the_prepared_config_loads_to_the_same_study() -> None:
    study = load_study(json.dumps(MINIMAL))
    suite = study.ablations["demo"].suite
    assert suite and all(name.startswith(SUITE_PREFIX) and name in study.attacks for name in suite)
    assert load_study(json.dumps(study.config)) == study  # a workflow copy (results/config/<sha16>.json) is prepared


@pytest.mark.parametrize(("change", "words"), [
    (lambda config: config.update(stats="both"), "stats: breaks the schema's enum"),
    (lambda config: config.update(dataset="svhn"), "svhn"),
    (lambda config: config.update(seeds=[float("inf")]), "config.seeds[0] is inf"),
    (lambda config: config["attacks"].update(bad={"attack": "nope"}), "nope"),
])
def test_a_bad_config_is_one_line_naming_the_value(change: Any, words: str) -> None:
    config = minimal()
    change(config)
    with pytest.raises(UserError) as error:
        study_from_config(config)
    assert words in str(error.value) and len(str(error.value).splitlines()) == 1


@pytest.mark.parametrize(("text", "words"), [
    ("dataset: digits\ndataset: mnist\n", "dataset"),  # a key given twice
    ("dataset: !!python/name:os.system digits\n", "tag"),
    ("__use_yte__: true\ndataset: digits\n", "__use_yte__"),
])
def test_the_strict_reader_refuses_in_one_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_study(path)
    assert words in str(error.value) and len(str(error.value).splitlines()) == 1


def test_an_edited_workflow_copy_is_refused(tmp_path: Path) -> None:
    text = json.dumps(load_study(json.dumps(MINIMAL)).config)
    copy_path = paths.config_json(tmp_path, text)
    copy_path.parent.mkdir(parents=True)
    copy_path.write_text(text.replace('"relu"', '"relog"'))
    with pytest.raises(UserError, match="is named by a hash its content does not have"):
        load_study(copy_path)


@pytest.mark.parametrize("config_path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_the_snakefile_and_the_cli_see_the_same_study(config_path: Path) -> None:
    """The Snakefile's path: Snakemake's own loader, the seeds of ``--config``, then ``study_from_config``."""
    snakemake_config = load_configfile(str(config_path))
    seeds_from_command_line(snakemake_config)
    study = load_study(config_path)
    job_config = copy.deepcopy(snakemake_config)  # a job's parse: the same loader, the checks done already
    assert study_from_config(snakemake_config, configfiles=[config_path]) == study
    assert study_from_config(job_config, configfiles=[config_path], validate=False) == study
    assert prepared_config(config_path) == (study.config, None)  # preflight's view


def test_preflight_keeps_the_config_as_read_with_the_loaders_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**MINIMAL, "stats": "both"}))
    config, problem = prepared_config(path)
    assert config["stats"] == "both" and config["seeds"] == DEFAULTS["seeds"]  # as read, defaults filled
    assert not any(name.startswith(SUITE_PREFIX) for name in config["attacks"])  # the suite never expanded
    assert problem is not None and problem.startswith("stats: breaks the schema's enum")


def test_the_loader_imports_no_torch_sklearn_matplotlib_or_pandas() -> None:
    code = ("import sys; from newlogic.study_loader import load_study; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn', 'matplotlib', 'pandas'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_workflow_copy_is_named_by_the_hash_of_the_studys_config(tmp_path: Path) -> None:
    """``snakemake -n`` of a config that leaves every default out writes the copy the CLI's study hashes to."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n",
                           "--configfile", str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    copies = set(re.findall(r"results/config/[0-9a-f]{16}\.json", done.stdout + done.stderr))
    study = load_study(path)
    assert copies == {str(paths.config_json(paths.results_dir(study.run), json.dumps(study.config)))}
