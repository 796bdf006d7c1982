"""The cluster preflight (newlogic/preflight/): on the local one-node Slurm, and its parts without one.

The ``slurm`` tests need the cluster of cluster/local-slurm/start.sh (accounting off, partitions normal
and gpu, two fake GPUs); without it they fail (never skip), as tests/test_local_slurm.py does.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from slurm_venv import slurm_environ, slurm_python, slurm_snakemake, use_slurm_plugin
from test_local_slurm import require_cluster

from newlogic import preflight
from newlogic.cli import build_parser
from newlogic.datasets import dataset_info, required_files

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DEMO_CONFIG = REPO / "config" / "config.yaml"
SHORT_PARTITION = "pfshort"  # made by the fixture with MaxTime 5 minutes
GOOD_GPU_JOB = {"slurm_partition": "gpu", "runtime": 20, "mem_mb": 2000, "gpu": 0, "gres": "gpu:1"}


def write_profile(folder: Path, no_account: bool = True, **train: object) -> Path:
    """A plain-YAML profile like cluster/local-slurm; ``train`` overrides its train resources (None: left out)."""
    folder.mkdir(parents=True, exist_ok=True)
    train = {key: value for key, value in {**GOOD_GPU_JOB, **train}.items() if value is not None}
    profile = {
        "executor": "slurm",
        "slurm-no-account": no_account,
        "slurm-status-command": "squeue",
        "default-resources": {"slurm_partition": "normal", "runtime": 10, "mem_mb": 1000},
        "set-resources": {"train": train, "evaluate": GOOD_GPU_JOB},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def newlogic_preflight(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``newlogic preflight`` in .venv-slurm, the environment that submits to Slurm (tests/slurm_venv.py)."""
    return subprocess.run([slurm_python(), "-m", "newlogic.cli", "preflight", "--configfile", str(DEMO_CONFIG), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def jobs_from(workdir: Path) -> list[str]:
    """Slurm jobs (any state, still known to squeue) started in ``workdir`` other than preflight's own srun."""
    listed = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%i|%j|%Z"],
                            capture_output=True, text=True, timeout=30, check=True).stdout
    rows = [line.split("|") for line in listed.splitlines()]
    return [job for job, name, where in rows if where == str(workdir) and name != "newlogic-preflight"]


def blocking_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("[blocking]")]


@pytest.fixture
def short_partition() -> Iterator[str]:
    """A partition with MaxTime 5 min on the local node, deleted afterwards."""
    require_cluster()
    node = subprocess.run(["hostname", "-s"], capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["scontrol", "delete", f"PartitionName={SHORT_PARTITION}"], capture_output=True, check=False)
    subprocess.run(["scontrol", "create", f"PartitionName={SHORT_PARTITION}", f"Nodes={node}", "MaxTime=5",
                    "State=UP"], capture_output=True, text=True, check=True)
    yield SHORT_PARTITION
    subprocess.run(["scontrol", "delete", f"PartitionName={SHORT_PARTITION}"], capture_output=True, check=True)


@pytest.mark.slurm
def test_the_real_profile_names_the_missing_accounting_and_stops_the_run_before_any_sbatch(tmp_path: Path) -> None:
    require_cluster()
    env = {**slurm_environ(), "NEWLOGIC_PREFLIGHT": "no-srun"}
    run = subprocess.run(
        [*slurm_snakemake(), "--snakefile", str(REPO / "Snakefile"), "--profile", str(REPO / "cluster/slurm"),
         "--configfile", str(DEMO_CONFIG)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 2, output[-4000:]
    [line] = blocking_lines(output)
    assert "accounting is off" in line and "slurm-status-command: squeue" in line, line
    assert "--slurm-status-command squeue" in line
    assert "preflight: 8 checks, 0 warnings, 1 blocking" in output  # after a blocking finding: no environment check
    assert "environment:" not in output
    # the hook tried the run's own train and evaluate jobs (resources of the profile, at attempt 1)
    accepted = "[ok] partitions: sbatch --test-only accepts the"
    assert f"{accepted} train job (-p gpu -t 480 --mem 16000 --gres=gpu:1)" in output
    assert f"{accepted} evaluate job (-p gpu -t 480 --mem 8000 --gres=gpu:1)" in output
    assert not (tmp_path / ".snakemake" / "slurm_logs").exists(), "the plugin wrote a job log: something was submitted"
    assert jobs_from(tmp_path) == []


@pytest.mark.slurm
def test_the_local_profile_passes_within_20_seconds(tmp_path: Path) -> None:
    require_cluster()
    start = time.monotonic()
    run = newlogic_preflight("--profile", str(REPO / "cluster/local-slurm"), cwd=REPO)
    seconds = time.monotonic() - start
    print(f"preflight on the local cluster (srun included): {seconds:.1f} s\n{run.stdout}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "preflight: 10 checks, 1 warnings, 0 blocking", run.stdout
    assert "[warning] environment: CUDA is not visible on gpu" in run.stdout  # the fake GPUs
    assert "[ok] environment: python" in run.stdout
    assert seconds < 20


@pytest.mark.slurm
@pytest.mark.parametrize(("train", "expected"), [
    ({"slurm_partition": "nosuch"}, "partition 'nosuch' named by profile"),
    ({"slurm_partition": SHORT_PARTITION},
     f"runtime 20 min, above the MaxTime (5 min) of partition '{SHORT_PARTITION}'"),
    ({"gres": "gpu:4"}, "sbatch refuses the train job (-p gpu -t 20 --mem 2000 --gres=gpu:4): "
                        "allocation failure: Requested node configuration is not available"),
], ids=["no-such-partition", "time-above-max", "gpus-the-node-lacks"])
def test_a_profile_the_cluster_cannot_run_gives_one_line_and_exit_2_before_any_job(
        tmp_path: Path, short_partition: str, train: dict[str, object], expected: str) -> None:
    profile = write_profile(tmp_path / "profile", **train)
    run = newlogic_preflight("--profile", str(profile), "--no-srun", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    [line] = blocking_lines(run.stdout)
    assert expected in line and "; fix: " in line, line
    assert run.stdout.splitlines()[-1].endswith(", 1 blocking")
    assert jobs_from(tmp_path) == []


@pytest.mark.slurm
def test_the_srun_check_reports_another_newlogic_on_the_compute_nodes_pythonpath(tmp_path: Path) -> None:
    require_cluster()
    fake = tmp_path / "elsewhere" / "newlogic"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('__version__ = "9.9.9"\n')
    # srun reads SRUN_EXPORT_ENV as its --export: only the compute node's process sees this PYTHONPATH
    env = {"SRUN_EXPORT_ENV": f"ALL,PYTHONPATH={fake.parent}"}
    run = newlogic_preflight("--profile", str(REPO / "cluster/local-slurm"), "--json", cwd=tmp_path, env=env)
    assert run.returncode == 2, run.stdout + run.stderr
    found = json.loads(run.stdout)
    [finding] = [f for f in found["findings"] if f["level"] == "blocking"]
    assert finding["check"] == "environment"
    assert f"newlogic 0.1.0 here, 9.9.9 at {fake / '__init__.py'} there" in finding["message"]
    assert found["summary"].endswith(", 1 blocking") and found["blocking"] is True


def test_the_profiles_give_each_job_kind_the_sbatch_arguments_of_their_gpu_request_form(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_slurm_plugin()
    monkeypatch.delenv("SBATCH_ACCOUNT", raising=False)
    local = preflight.load_profile(REPO / "cluster/local-slurm")
    assert local.status_command == "squeue" and local.no_account and "slurm_account" not in local.jobs["train"]
    assert local.partitions == ("gpu", "normal") and local.init_seconds == 2
    assert preflight.sbatch_arguments(local.jobs["train"]) == ["-p", "gpu", "-t", "20", "--mem", "2000",
                                                               "--gres=gpu:1"]
    monkeypatch.setenv("SBATCH_ACCOUNT", "project7")
    settings = preflight.load_profile(write_profile(tmp_path / "gpus", no_account=False, gpu=1, gres=None))
    assert preflight.sbatch_arguments(settings.jobs["train"]) == ["-A", "project7", "-p", "gpu", "-t", "20",
                                                                  "--mem", "2000", "--gpus=1"]


def test_slurm_times_read_as_minutes() -> None:
    assert preflight.slurm_minutes("infinite") is None and preflight.slurm_minutes("UNLIMITED") is None
    assert preflight.slurm_minutes("5:00") == 5
    assert preflight.slurm_minutes("1-02:30:00") == 24 * 60 + 150
    assert preflight.slurm_minutes("45") == 45


def test_version_mismatches_ignore_the_torch_build_tag_only() -> None:
    here = {"python": "3.11.7", "torch": "2.14.1", "newlogic": "0.1.0", "newlogic_path": "/a"}
    assert preflight.version_mismatches(here, {**here, "torch": "2.14.1+cu130"}) == []
    assert preflight.version_mismatches(here, {**here, "python": "3.12.1"}) == ["python 3.11.7 here, 3.12.1 there"]


def test_the_report_ends_with_the_summary_and_json_holds_the_same_findings() -> None:
    findings = [preflight.Finding("status", "blocking", "accounting off", preflight.STATUS_FIX),
                preflight.Finding("disk", "warning", "tight"), preflight.Finding("data", "ok", "bundled")]
    lines = preflight.report(findings).splitlines()
    assert lines[0] == f"[blocking] status: accounting off; fix: {preflight.STATUS_FIX}"
    assert lines[-1] == "preflight: 3 checks, 1 warnings, 1 blocking"
    as_json = json.loads(preflight.report(findings, as_json=True))
    assert [preflight.Finding(**f) for f in as_json["findings"]] == findings and as_json["blocking"]


def test_the_disk_check_blocks_when_the_plan_does_not_fit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config, problem = preflight.prepared_config(DEMO_CONFIG)
    assert problem is None
    runs, results, needed = preflight.plan_bytes(config)
    per_run = dataset_info(config["dataset"]).run_bytes
    assert runs > 0 and results >= runs and needed == runs * per_run + results * 2 * 2**20
    context = preflight.Context(preflight.load_profile(REPO / "cluster/local-slurm"), config, tmp_path / "results")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: SimpleNamespace(free=needed - 1))
    [finding] = preflight.check_disk(context)
    assert finding.level == "blocking" and f"{runs} training runs" in finding.message


def test_the_watchdog_stops_a_run_whose_job_states_stay_unreadable(capsys: pytest.CaptureFixture[str]) -> None:
    stopped = []
    watchdog = preflight.StatusWatchdog(["false"], timeout=0.5, stop=lambda: stopped.append(True)).start()
    assert watchdog.fired.wait(10) and stopped == [True]
    assert "job states unreadable for 0.5 s" in capsys.readouterr().err
    answering = preflight.StatusWatchdog(["true"], timeout=0.5, stop=lambda: stopped.append(False)).start()
    assert not answering.fired.wait(1.5) and stopped == [True]


def test_the_status_timeout_must_be_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(preflight.STATUS_TIMEOUT_VARIABLE, "five minutes")
    with pytest.raises(preflight.UserError, match="NEWLOGIC_STATUS_TIMEOUT='five minutes'"):
        preflight.status_timeout()
    monkeypatch.setenv(preflight.STATUS_TIMEOUT_VARIABLE, "0")
    assert preflight.status_timeout() == 0


def test_importing_preflight_and_its_cli_needs_no_torch() -> None:
    code = "import sys, newlogic.preflight, newlogic.cli; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_the_cli_parses_preflight_options() -> None:
    args = build_parser().parse_args(["preflight", "--profile", "cluster/slurm", "--no-srun", "--json"])
    assert (args.profile, args.srun, args.json) == ("cluster/slurm", False, True)
    assert args.configfile == DEMO_CONFIG.relative_to(REPO)


LOCAL_SNAKEFILE = """
onstart:
    from newlogic.preflight import workflow_preflight

    workflow_preflight(workflow, config)

rule done:
    output: "done.txt"
    shell: "touch {output}"
"""


def test_a_run_without_the_slurm_executor_skips_the_cluster_checks(tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text(LOCAL_SNAKEFILE)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run([str(VENV_BIN / "snakemake"), "--cores", "1"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "done.txt").exists() and "preflight" not in run.stdout + run.stderr


SACCT_QUERY = ("sacct", "-X", "--noheader", "--format=JobIDRaw", "--starttime", "now-1hours")


@pytest.mark.parametrize(("status_command", "sacct_answers", "min_job_age", "level", "words"), [
    (None, False, 3600, "blocking", "accounting is off"),
    ("sacct", True, 3600, "ok", "accounting on; job states are read with sacct"),
    ("squeue", False, 3600, "ok", "job states are read with squeue"),
    ("squeue", False, 60, "blocking", "MinJobAge=60 s < 120 s"),
    ("squeue", True, 60, "ok", "accounting on"),
])
def test_the_status_check_follows_the_plugins_choice_of_status_command(
        monkeypatch: pytest.MonkeyPatch, status_command: str | None, sacct_answers: bool, min_job_age: int,
        level: str, words: str) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    settings = preflight.ClusterSettings("profile p", status_command, False, {}, ())
    context = preflight.Context(settings, {}, Path("results"))
    sacct = ("", "") if sacct_answers else ("", "Slurm accounting storage is disabled\n")
    context.answers[SACCT_QUERY] = subprocess.CompletedProcess(SACCT_QUERY, 0 if sacct_answers else 1, *sacct)
    context.answers[("scontrol", "show", "config")] = subprocess.CompletedProcess(
        (), 0, f"AccountingStorageType   = x\nMinJobAge               = {min_job_age} sec\n", "")
    [finding] = preflight.check_status(context)
    assert (finding.level, words in finding.message) == (level, True), finding


def test_the_data_check_accepts_files_or_a_download_to_come_and_blocks_a_stale_marker(tmp_path: Path) -> None:
    settings = preflight.ClusterSettings("profile p", "squeue", True, {}, ())
    context = preflight.Context(settings, {"dataset": "mnist", "data_dir": str(tmp_path)}, tmp_path / "results")
    [finding] = preflight.check_data(context)
    assert finding.level == "ok" and "the download rule fetches it first" in finding.message
    (tmp_path / ".mnist.downloaded").touch()
    [finding] = preflight.check_data(context)
    assert finding.level == "blocking" and "train-images-idx3-ubyte is missing (4 files)" in finding.message
    for path in required_files("mnist", tmp_path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    [finding] = preflight.check_data(context)
    assert (finding.level, finding.message) == ("ok", f"mnist is in {tmp_path}")


def test_a_profile_that_is_missing_or_not_for_slurm_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(preflight.UserError, match="no config.yaml there"):
        preflight.load_profile(tmp_path / "nowhere")
    (tmp_path / "config.yaml").write_text("executor: local\ncores: 2\n")
    with pytest.raises(preflight.UserError, match="uses executor 'local', not 'slurm'"):
        preflight.load_profile(tmp_path)


def test_a_misspelt_model_name_is_a_blocking_config_finding(tmp_path: Path) -> None:
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    first = next(iter(config["ablations"].values()))
    first["models"] = [*first["models"], "relog-maxuot_4"]
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(config))
    prepared, problem = preflight.prepared_config(path)
    settings = preflight.ClusterSettings("profile p", "squeue", True, {}, ())
    context = preflight.Context(settings, prepared, tmp_path / "results", config_problem=problem)
    [finding] = preflight.check_config(context)
    assert finding.level == "blocking" and "maxuot" in finding.message, finding


# ---- issue 30: no code from a profile ---------------------------------------------------------------------

YTE_PAYLOAD = """__use_yte__: true
__definitions__:
  - |
    import os
    os.system("touch {marker}")
executor: slurm
"""
# the subclass walk that escaped eval(value, {"__builtins__": {}}) and called os.system
EVAL_PAYLOAD = """executor: slurm
default-resources:
  runtime: "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()._module.\\
__builtins__['__import__']('os').system('touch {marker}')"
"""
PAYLOADS = {"yte": (YTE_PAYLOAD, "Snakemake itself would run its Python"),
            "eval": (EVAL_PAYLOAD, "Snakemake would evaluate it as Python")}


@pytest.mark.parametrize("where", ["path", "name", "xdg"])
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_profile_that_tries_to_run_code_runs_none_in_preflight(tmp_path: Path, where: str, payload: str) -> None:
    marker = tmp_path / "code-ran"
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    folder = {"path": tmp_path / "shared", "name": home / ".config" / "snakemake" / "lab",
              "xdg": xdg / "snakemake" / "lab"}[where]
    folder.mkdir(parents=True)
    text, words = PAYLOADS[payload]
    (folder / "config.yaml").write_text(text.format(marker=marker))
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(xdg) if where == "xdg" else ""}
    run = newlogic_preflight("--profile", str(folder) if where == "path" else "lab", "--no-srun", cwd=tmp_path,
                             env=env)
    assert run.returncode == 2 and run.stdout == "", run.stdout + run.stderr
    [line] = run.stderr.splitlines()
    assert words in line and str(folder / "config.yaml") in line, line
    assert not marker.exists(), "the profile's code ran"


@pytest.mark.parametrize(("value", "expected"), [
    (480, 480), (1.5, 1.5), ("480 * attempt", 480), ("2*attempt+10", 12), ("60", 60), ("1 + 2 * 3", 7),
    ("gpu:1", "gpu:1"), ("gpu:a100:1", "gpu:a100:1"), ("normal", "normal"), ("attempts", "attempts"),
])
def test_resource_values_are_read_by_the_grammar(value: object, expected: object) -> None:
    assert preflight.resource_value(value, "r") == expected


@pytest.mark.parametrize("value", ["__import__('os')", "attempt ** 99", "(1)", "$(touch x)", "a;b", "x`y`",
                                   "{1: 2}", True, None, [1], {"a": 1}])
def test_resource_values_outside_the_grammar_are_refused_in_one_line(value: object) -> None:
    with pytest.raises(preflight.UserError) as error:
        preflight.resource_value(value, "profile p: default-resources.runtime")
    assert "\n" not in str(error.value) and "default-resources.runtime" in str(error.value)


@pytest.mark.parametrize(("body", "words"), [
    ("slurm-init-seconds-before-status-checks: '40'\n", "slurm-init-seconds-before-status-checks: '40'"),
    ("slurm-init-seconds-before-status-checks: -1\n", "is not a whole number"),
    ("default-resources: [runtime=60, mem_mb=1000]\n", "default-resources must be a mapping"),
    ("set-resources:\n  train: [gpu]\n", "set-resources.train must be a mapping"),
    ("slurm-status-command: scontrol\n", "slurm-status-command 'scontrol' is not one of sacct, squeue"),
    ("slurm-no-account: maybe\n", "slurm-no-account 'maybe'"),
    ("default-resources:\n  runtime: 60\n  runtime: 70\n", "given twice"),
    ("default-resources: !!python/object/apply:os.system [x]\n", "YAML tags"),
])
def test_a_profile_value_that_is_not_data_preflight_reads_is_one_line(tmp_path: Path, body: str, words: str) -> None:
    (tmp_path / "config.yaml").write_text("executor: slurm\n" + body)
    with pytest.raises(preflight.UserError) as error:
        preflight.load_profile(tmp_path)
    assert "\n" not in str(error.value) and words in str(error.value), error.value


# ---- issue 30: Slurm answers and findings, one line per cause ----------------------------------------------


def answered_context(monkeypatch: pytest.MonkeyPatch, jobs: dict[str, dict[str, object]],
                     answers: dict[tuple[str, ...], str]) -> preflight.Context:
    """A context whose Slurm commands answer ``answers`` (stdout, exit 0) instead of running."""
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    settings = preflight.ClusterSettings("profile p", "squeue", True, jobs, ("gpu",), init_seconds=40)
    context = preflight.Context(settings, {}, Path("results"))
    for command, stdout in answers.items():
        context.answers[command] = subprocess.CompletedProcess(command, 0, stdout, "")
    return context


SINFO = ("sinfo", "--noheader", "--format=%R|%a|%l")


@pytest.mark.parametrize(("sinfo", "level", "words"), [
    ("gpu|up|soon\n", "warning", "MaxTime of partition 'gpu' 'soon' is not a Slurm time"),
    ("gpu|up|n/a\n", "warning", "'n/a' is not a Slurm time"),
    ("gpu|up|infinite\ngpu up garbage\n", "warning", "sinfo printed 'gpu up garbage'"),
])
def test_an_unparsable_sinfo_answer_is_one_line(monkeypatch: pytest.MonkeyPatch, sinfo: str, level: str,
                                               words: str) -> None:
    use_slurm_plugin()
    test_only = ("sbatch", "--test-only", "-p", "gpu", "-t", "20", "--job-name=newlogic-preflight", "--wrap=true")
    context = answered_context(monkeypatch, {"train": {"slurm_partition": "gpu", "runtime": 20}},
                               {SINFO: sinfo, test_only: ""})
    findings = list(preflight.check_partitions(context))
    [odd] = [f for f in findings if f.level != "ok"]
    assert (odd.level, words in odd.message) == (level, True), odd
    assert [f.level for f in findings].count("ok") == 1  # sbatch --test-only still ran


def test_a_hostile_gres_is_one_blocking_line_and_nothing_is_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    use_slurm_plugin()
    context = answered_context(monkeypatch, {"train": {"slurm_partition": "gpu", "gres": "gpu::1"}},
                               {SINFO: "gpu|up|infinite\n"})
    [finding] = preflight.check_partitions(context)
    assert finding.level == "blocking" and "gres='gpu::1' is refused by the slurm plugin" in finding.message
    assert not any(command[0] == "sbatch" for command in context.answers)


def test_an_unparsable_min_job_age_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    context = answered_context(monkeypatch, {}, {SACCT_QUERY: "", ("scontrol", "show", "config"): "MinJobAge = x\n"})
    findings = list(preflight.check_status(context))
    assert [(f.level, "MinJobAge 'x'" in f.message) for f in findings] == [("warning", True), ("ok", False)]


def test_free_space_below_a_gibibyte_is_shown_in_mebibytes() -> None:
    assert preflight.size_text(20 * 2**20) == "20.0 MiB" and preflight.size_text(3 * 2**30) == "3.0 GiB"


def test_a_package_missing_on_the_compute_node_is_named() -> None:
    here = {"python": "3.11.7", "torch": "2.14.1", "newlogic": "0.1.0", "newlogic_path": "/a"}
    node = {"python": "3.11.7", "torch": None, "newlogic": None, "newlogic_path": "No module named 'newlogic'"}
    assert preflight.version_mismatches(here, node) == ["torch 2.14.1 here, not installed there",
                                                        "newlogic 0.1.0 here, not installed there"]


@pytest.mark.slurm
def test_a_bad_partition_is_one_line_and_preflight_submits_no_srun(tmp_path: Path) -> None:
    require_cluster()
    profile = write_profile(tmp_path / "profile", slurm_partition="nosuch")
    run = newlogic_preflight("--profile", str(profile), cwd=tmp_path)  # with the srun check
    assert run.returncode == 2, run.stdout + run.stderr
    [line] = blocking_lines(run.stdout)
    assert "partition 'nosuch'" in line and "environment" not in run.stdout, run.stdout
    listed = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%j|%Z"], capture_output=True,
                            text=True, timeout=30, check=True).stdout
    assert f"newlogic-preflight|{tmp_path}" not in listed


# ---- issue 30: failing clusters end cleanly ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e-9", "0.5", "-1", "1e400", "five minutes", "1e9"])
def test_the_status_timeout_is_finite_and_bounded(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(preflight.STATUS_TIMEOUT_VARIABLE, text)
    with pytest.raises(preflight.UserError) as error:
        preflight.status_timeout()
    assert "\n" not in str(error.value) and f"NEWLOGIC_STATUS_TIMEOUT={text!r}" in str(error.value)


def status_shim(folder: Path, mode: str, flag: Path | None = None) -> Path:
    """``folder/squeue``: fails (``fail``) or hangs (``hang``) once ``flag`` exists (always without a flag), else
    the real squeue."""
    folder.mkdir(parents=True, exist_ok=True)
    real = shutil.which("squeue") or "squeue"
    act = {"fail": 'echo "squeue: error: Unable to contact slurm controller (connect failure)" >&2; exit 1',
           "hang": "sleep 1000"}[mode]
    condition = f"[[ -e {flag} ]]" if flag else "true"
    shim = folder / "squeue"
    shim.write_text(f"#!/bin/bash\nif {condition}; then\n    {act}\nfi\nexec {real} \"$@\"\n")
    shim.chmod(0o755)
    return shim


def processes_running(path: Path) -> list[int]:
    """Pids whose command line names ``path``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(path).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def active_jobs(job_ids: list[str]) -> list[str]:
    """Those of ``job_ids`` that squeue shows pending or running."""
    listed = subprocess.run(["squeue", "--noheader", "--states=PENDING,RUNNING", "--format=%i"],
                            capture_output=True, text=True, timeout=30, check=True).stdout.split()
    return [job for job in job_ids if job in listed]


@pytest.mark.slurm
@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_the_watchdog_cancels_the_runs_jobs_and_leaves_no_status_process(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str) -> None:
    require_cluster()
    shim = status_shim(tmp_path / "bin", mode)
    job = subprocess.run(["sbatch", "--parsable", "-p", "normal", "-t", "5", "--mem", "100", f"--chdir={tmp_path}",
                          "--job-name=newlogic-watchdog-test", "--wrap=sleep 300"],
                         capture_output=True, text=True, timeout=30, check=True).stdout.strip().split(";")[0]
    try:
        plugins_query = subprocess.Popen([str(shim)])  # a status call of this process that hangs or fails
        stopped: list[float] = []
        start = time.monotonic()
        watchdog = preflight.StatusWatchdog([str(shim)], timeout=3, job_ids=lambda: [job],
                                            stop=lambda: stopped.append(time.monotonic() - start)).start()
        assert watchdog.fired.wait(12) and stopped and stopped[0] < 6, stopped  # within twice the timeout
        line = capsys.readouterr().err.strip()
        assert f"cancelled the run's 1 Slurm jobs (scancel {job})" in line and "check `scontrol ping`" in line, line
        assert active_jobs([job]) == []
        plugins_query.wait(5)
        assert processes_running(shim) == []
    finally:
        subprocess.run(["scancel", job], capture_output=True, timeout=30, check=False)


WATCHED_SNAKEFILE = """
onstart:
    from newlogic.preflight import workflow_preflight

    workflow_preflight(workflow, config)

rule slow:
    output: "slept.txt"
    shell: "sleep 300 && touch {output}"
"""


@pytest.mark.slurm
@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_a_run_whose_squeue_fails_or_hangs_ends_within_twice_the_timeout_with_its_jobs_cancelled(
        tmp_path: Path, mode: str) -> None:
    require_cluster()
    timeout = 5
    flag = tmp_path / "break-squeue"
    shim = status_shim(tmp_path / "bin", mode, flag)
    (tmp_path / "Snakefile").write_text(WATCHED_SNAKEFILE)
    env = slurm_environ()
    env.update(PATH=f"{shim.parent}{os.pathsep}{env['PATH']}", NEWLOGIC_PREFLIGHT="off",
               NEWLOGIC_STATUS_TIMEOUT=str(timeout))
    run = subprocess.Popen([*slurm_snakemake(), "--profile", str(REPO / "cluster/local-slurm")],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    jobs: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not jobs and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.5)
            listed = subprocess.run(["squeue", "--noheader", "--states=RUNNING", "--format=%i|%Z"],
                                    capture_output=True, text=True, timeout=30, check=True).stdout
            jobs = [row.split("|")[0] for row in listed.splitlines() if row.endswith(f"|{tmp_path}")]
        assert jobs, "the run's job never ran"
        flag.touch()
        broken = time.monotonic()
        output, _ = run.communicate(timeout=60)
        seconds = time.monotonic() - broken
        print(f"{mode}: the run ended {seconds:.1f} s after squeue broke (timeout {timeout} s)")
        assert seconds < 2 * timeout and run.returncode != 0, output[-3000:]
        last = output.strip().splitlines()[-1]
        assert last.startswith(f"newlogic: job states unreadable for {timeout} s (squeue: "), output[-3000:]
        assert f"(scancel {' '.join(jobs)})" in last and "check `scontrol ping`" in last, last
        assert "SLURM account" not in output  # the plugin's guesses, hidden under slurm-no-account
        assert list((tmp_path / ".snakemake" / "locks").glob("*")) == []  # a plain rerun needs no --unlock
        assert active_jobs(jobs) == []
        left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in processes_running(shim)}
        assert left == {}, left
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
        subprocess.run(["scancel", *jobs], capture_output=True, timeout=30, check=False)
