"""The cluster preflight (newlogic/preflight.py): on the local one-node Slurm, and its parts without one.

The ``slurm`` tests need the cluster of cluster/local-slurm/start.sh (accounting off, partitions normal
and gpu, two fake GPUs); without it they fail (never skip), as tests/test_local_slurm.py does.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from test_local_slurm import require_cluster

from newlogic import preflight
from newlogic.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DEMO_CONFIG = REPO / "config" / "config.yaml"
SHORT_PARTITION = "pfshort"  # made by the fixture with MaxTime 5 minutes
GOOD_GPU_JOB = {"slurm_partition": "gpu", "runtime": 20, "mem_mb": 2000, "gpu": 0, "gres": "gpu:1"}


def write_profile(folder: Path, **train: object) -> Path:
    """A plain-YAML profile like cluster/local-slurm whose train resources are overridden by ``train``."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = {
        "executor": "slurm",
        "slurm-no-account": True,
        "slurm-status-command": "squeue",
        "default-resources": {"slurm_partition": "normal", "runtime": 10, "mem_mb": 1000},
        "set-resources": {"train": {**GOOD_GPU_JOB, **train}, "evaluate": GOOD_GPU_JOB},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def newlogic_preflight(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newlogic.cli", "preflight", "--configfile", str(DEMO_CONFIG), *args],
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
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "NEWLOGIC_PREFLIGHT": "no-srun"}
    run = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--profile", str(REPO / "cluster/slurm"),
         "--configfile", str(DEMO_CONFIG)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 2, output[-4000:]
    [line] = blocking_lines(output)
    assert "accounting is off" in line and "slurm-status-command: squeue" in line, line
    assert "--slurm-status-command squeue" in line
    assert "preflight: 9 checks, 1 warnings, 1 blocking" in output  # the warning: the srun skipped
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
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SBATCH_ACCOUNT", raising=False)
    monkeypatch.setenv("NEWLOGIC_GPU_REQUEST", "gres")
    settings = preflight.load_profile(REPO / "cluster/slurm")
    assert settings.status_command is None and settings.partitions == ("gpu", "normal")
    assert preflight.sbatch_arguments(settings.jobs["train"]) == ["-p", "gpu", "-t", "480", "--mem", "16000",
                                                                  "--gres=gpu:1"]
    monkeypatch.setenv("NEWLOGIC_GPU_REQUEST", "gpus")
    monkeypatch.setenv("SBATCH_ACCOUNT", "project7")
    settings = preflight.load_profile(REPO / "cluster/slurm")
    assert preflight.sbatch_arguments(settings.jobs["evaluate"]) == ["-A", "project7", "-p", "gpu", "-t", "480",
                                                                     "--mem", "8000", "--gpus=1"]
    local = preflight.load_profile(REPO / "cluster/local-slurm")
    assert local.status_command == "squeue" and local.no_account and "slurm_account" not in local.jobs["train"]


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
    assert runs > 0 and results >= runs and needed == runs * preflight.DEFAULT_RUN_BYTES + results * 2 * 2**20
    context = preflight.Context(preflight.load_profile(REPO / "cluster/local-slurm"), config, tmp_path / "results")
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda _path: SimpleNamespace(free=needed - 1))
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
    monkeypatch.setattr(preflight.shutil, "which", lambda name: f"/usr/bin/{name}")
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
    for path in preflight._dataset_files("mnist", tmp_path):
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
