"""Configs, command lines and result folders are untrusted input (issue 22): safe names, escaping, strict
configs, one-line schema errors, locks that never follow a link, read-only results, and a plain rerun after
Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from newlogic.cli import main
from newlogic.commands import check_out_file
from newlogic.config_file import MAX_SEED, check_workflow_config, parse_config_text, schema_error
from newlogic.errors import UserError
from newlogic.names import SAFE_NAME_PATTERN, check_safe_name
from newlogic.report import escape
from newlogic.store.lock import output_lock

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
VENV_BIN = Path(sys.executable).parent
REPORT_PAYLOAD = "x</script><img src=x onerror=alert(1)>"
INJECTIONS = {  # payload → (LaTeX, Markdown cell), byte for byte
    "x</script><img src=x onerror=alert(1)>": (
        r"x\textless{}/script\textgreater{}\textless{}img src=x onerror=alert(1)\textgreater{}",
        "x&lt;/script>&lt;img src=x onerror=alert(1)>"),
    "^^5cinput{/etc/hostname}": (
        r"\textasciicircum{}\textasciicircum{}5cinput\{/etc/hostname\}", "^^5cinput{/etc/hostname}"),
    "a\n\\input{/etc/passwd}": (r"a \textbackslash{}input\{/etc/passwd\}", r"a \\input{/etc/passwd}"),
    "50% & $x$ #1 ~_": (r"50\% \& \$x\$ \#1 \textasciitilde{}\_", "50% & $x$ #1 ~_"),
    "a|b\r\nc": (r"a\textbar{}b c", r"a\|b c"),
    "&lt;b&gt;": (r"\&lt;b\&gt;", "&amp;lt;b&amp;gt;"),
}


def base_config() -> dict:
    return {"dataset": "digits", "attacks": {"fgsm_0.1": {"attack": "fgsm", "eps": 0.1}},
            "ablations": {"demo": {"models": ["relu"]}}}


@pytest.mark.parametrize("name", ["..", "-x", ".hidden", "a/b", "/abs", "a..b", "x\n", "", "checks", "clean",
                                  "model", "noise", "x.partial", "Clean", "fgsm_std", "worst_linf_0.3", "a b",
                                  "a$(touch X)", "x" * 101])
def test_unsafe_or_reserved_names_are_refused_in_one_line(name: str) -> None:
    with pytest.raises(UserError) as error:
        check_safe_name(name, "attack setting")
    assert "\n" not in str(error.value) and str(error.value).startswith("attack setting")


@pytest.mark.parametrize("name", ["fgsm_0.1", "pgd-linf", "relog-maxout_4", "mnist5k-demo", "A1"])
def test_safe_names_pass(name: str) -> None:
    assert check_safe_name(name, "run") == name


def test_the_schema_states_the_same_name_pattern() -> None:
    schema = yaml.safe_load(SCHEMA.read_text())
    patterns = {schema["properties"]["run"]["pattern"], schema["properties"]["attacks"]["propertyNames"]["pattern"],
                schema["properties"]["ablations"]["propertyNames"]["pattern"]}
    assert {pattern.replace("[.]", r"\.") for pattern in patterns} == {SAFE_NAME_PATTERN}


@pytest.mark.parametrize("payload", list(INJECTIONS))
def test_escaping_of_each_payload_byte_for_byte(payload: str) -> None:
    latex, markdown = INJECTIONS[payload]
    assert escape.latex(payload) == latex
    assert escape.markdown_cell(payload) == markdown
    html = escape.html_text(payload)
    assert "<" not in html and ">" not in html and "\"" not in html
    encoded = escape.json_for_html({"label": payload})
    assert json.loads(encoded) == {"label": payload} and not {"<", ">", "&"} & set(encoded)


def test_rendered_tables_carry_each_payload_escaped_byte_for_byte() -> None:
    from newlogic.report.tables import RENDERERS, AblationTable, Cell
    from newlogic.study import Ablation, ModelEntry

    payloads = list(INJECTIONS)
    models = tuple(ModelEntry(f"m{index}", payload) for index, payload in enumerate(payloads))
    ablation = Ablation("demo", "digits", models, ("s",), (0,), caption=payloads[2])
    cells = {(entry.name, column): Cell(values={0: 0.5}) for entry in models for column in ("clean", "s")}
    table = AblationTable(ablation, {"clean": "Clean", "s": payloads[1]}, cells, set(), [],
                          verdicts={entry.name: "no masking found" for entry in models})
    markdown = RENDERERS["md"].render(table).splitlines()
    latex = RENDERERS["tex"].render(table).splitlines()
    assert markdown[0] == f"| Model | Clean | {INJECTIONS[payloads[1]][1]} | Verdict |"
    assert latex[2] == rf"Model & Clean & {INJECTIONS[payloads[1]][0]} & Verdict \\"
    for index, payload in enumerate(payloads):
        assert markdown[2 + index].startswith(f"| {INJECTIONS[payload][1]} | 50.00 | 50.00 | ")  # then the verdict
        assert latex[4 + index].startswith(rf"{INJECTIONS[payload][0]} & \textbf{{50.00}} & \textbf{{50.00}} & ")
    assert latex[-1].startswith(f"% {INJECTIONS[payloads[2]][0]} ")  # the caption stays inside the comment
    assert markdown[len(payloads) + 3] == f"{INJECTIONS[payloads[2]][1]}  "


@pytest.mark.parametrize("text, says", [
    ("a: 1\na: 2\n", "given twice"),
    ("__use_yte__: true\ndataset: digits\n", "__use_yte__"),
    ("dataset: !!python/object/apply:os.system [touch X]\n", "tags"),
    ("dataset: !custom x\n", "tags"),
    ("limit: .inf\n", "finite"),
    ("- a\n", "mapping"),
])
def test_configs_are_data(text: str, says: str) -> None:
    with pytest.raises(UserError, match=says):
        parse_config_text(text, "config file c.yaml")


@pytest.mark.parametrize("change, key", [
    (lambda c: c.update(run=".."), "run"),
    (lambda c: c.update(data_dir="data$(touch X)"), "data_dir"),
    (lambda c: c.update(seeds=[MAX_SEED + 1]), "seeds.0"),
    (lambda c: c.update(seeds=[True]), "seeds.0"),
    (lambda c: c["attacks"]["fgsm_0.1"].update(limit=True), "attacks.fgsm_0.1.limit"),
    (lambda c: c["attacks"]["fgsm_0.1"].update(limit="5"), "attacks.fgsm_0.1.limit"),
    (lambda c: c["ablations"]["demo"].update(caption="x" * 150_000), "ablations.demo.caption"),
    (lambda c: c["ablations"].update({"-x": {"models": ["relu"]}}), "ablations"),
    (lambda c: c["attacks"].update({"checks": {"attack": "fgsm"}}), "attacks"),
    (lambda c: c["ablations"]["demo"].update(attacks=["fgsm_0.1", "fgsm_0.1"]), "ablations.demo.attacks"),
])
def test_a_schema_error_is_one_short_line_naming_the_key(change, key: str) -> None:
    config = base_config()
    change(config)
    message = schema_error(config, SCHEMA)
    assert message is not None and message.startswith(f"{key}: breaks the schema's ")
    assert "\n" not in message and len(message) < 400


def test_the_workflow_rereads_config_files_strictly(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config()) + "dataset: mnist\n")
    with pytest.raises(UserError, match="given twice"):
        check_workflow_config(base_config(), [str(path)], SCHEMA)
    config = base_config()
    config["attacks"]["fgsm_0.1"]["eps"] = float("inf")
    with pytest.raises(UserError, match="finite"):
        check_workflow_config(config, [], SCHEMA)


def test_a_lock_never_follows_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (tmp_path / ".r.json.lock").symlink_to(target)
    with pytest.raises(UserError, match="symbolic link"), output_lock(tmp_path / "r.json"):
        pass
    assert target.read_text() == "keep me"


def test_out_is_refused_in_a_model_directory_or_when_a_directory(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "metrics.json").write_text("{}")
    for out in (model / "metrics.json", model / "fgsm.json", tmp_path):
        with pytest.raises(UserError):
            check_out_file(out, "--out", model)
    check_out_file(tmp_path / "results" / "fgsm.json", "--out", model)


@pytest.mark.parametrize("settings", ['{"../x": {"attack": "fgsm"}}', '{"/tmp/x": {"attack": "fgsm"}}',
                                      '{"checks": {"attack": "fgsm"}}', '{"x.partial": {"attack": "fgsm"}}'])
def test_evaluate_refuses_unsafe_setting_ids_before_any_work(tmp_path: Path, settings: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", "--model-dir", str(tmp_path / "nowhere"), "--settings", settings,
                 "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "attack setting" in err
    assert not (tmp_path / "out").exists()


def tiny_config(tmp_path: Path) -> Path:
    config = {
        "dataset": "digits", "device": "cpu", "seeds": [0],
        "training": {"epochs": 1, "relog_ramp_epochs": 1, "augment": "none"},
        "attacks": {"fgsm_0.1": {"attack": "fgsm", "eps": 0.1, "limit": 40},
                    "bim_0.1": {"attack": "bim", "eps": 0.1, "limit": 200}},
        "figures": {"gallery_samples": 2, "noise_samples": 20},
        "ablations": {"tiny": {"models": [{"name": "relu", "label": REPORT_PAYLOAD}, "relog-maxout_4"],
                               "caption": REPORT_PAYLOAD + "\n^^5cinput{/etc/hostname}", "suite_eps": []}},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def finished_files(workdir: Path) -> dict[Path, bytes]:
    """Every finished attack result (JSON and samples) and trained model, by path: its bytes."""
    files = [*workdir.glob("results/attacks/*/*/seed*/*.json"), *workdir.glob("results/attacks/*/*/seed*/*.npz"),
             *workdir.glob("results/models/*/*/seed*/model.pt")]
    return {path: path.read_bytes() for path in files if path.name != "checks.json"}


@pytest.mark.slow
def test_a_plain_rerun_after_ctrl_c_finishes_and_keeps_finished_results(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    command = [str(VENV_BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--cores", "1",
               "--configfile", str(tiny_config(tmp_path))]
    run = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    deadline = time.monotonic() + 600
    while not list(tmp_path.glob("results/attacks/*/*/seed0/fgsm_0.1.json")):
        assert run.poll() is None, f"the run ended before its first result:\n{run.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
    run.communicate(timeout=300)
    assert run.returncode != 0, "the run had finished before the interrupt"
    finished = finished_files(tmp_path)
    assert finished
    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (tmp_path / "results/tables/tiny.csv").is_file()
    after = finished_files(tmp_path)
    assert {path: after[path] for path in finished} == finished  # byte-identical
    for result in (path for path in finished if path.suffix == ".json"):  # and not recomputed: the rerun says so
        model, seed = result.parts[-3], result.parts[-2]
        log = (tmp_path / "logs" / "evaluate" / "digits" / model / f"{seed}.log").read_text()
        assert f"{result.stem}: up to date" in log
    tex = (tmp_path / "results/tables/tiny.tex").read_text()
    assert r"\textasciicircum{}\textasciicircum{}5cinput\{/etc/hostname\}" in tex and "^^5c" not in tex
    assert "</script>" not in (tmp_path / "results/tables/tiny.md").read_text()
    report = snakemake_report(command, tmp_path, env)
    assert REPORT_PAYLOAD not in report and "onerror=alert(1)>" not in report  # no live config text in the report


def snakemake_report(command: list[str], workdir: Path, env: dict[str, str]) -> str:
    done = subprocess.run([*command, "--report", "results/report.html"], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return (workdir / "results/report.html").read_text(errors="replace")


@pytest.fixture(scope="module")
def campaign_workspace(tmp_path_factory: pytest.TempPathFactory):
    from bad_inputs_campaign import make_workspace

    return make_workspace(tmp_path_factory.mktemp("untrusted"))


def _untrusted_cases() -> list:
    from bad_inputs_campaign import UNTRUSTED_CASES

    return list(UNTRUSTED_CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", _untrusted_cases(), ids=lambda case: case.name)
def test_each_untrusted_input_case_is_clean(case, campaign_workspace, tmp_path: Path) -> None:
    from bad_inputs_campaign import release_locks, run_case

    try:
        outcome = run_case(case, campaign_workspace, tmp_path)
    finally:
        release_locks()
    assert outcome.problems(case) == [], outcome.stderr


def test_the_campaign_has_three_cases_of_each_untrusted_class() -> None:
    from bad_inputs_campaign import UNTRUSTED_CASES

    kinds = [case.kind for case in UNTRUSTED_CASES]
    assert all(kinds.count(kind) >= 3 for kind in kinds), {kind: kinds.count(kind) for kind in kinds}
    assert len(set(kinds)) == 7 and sum(case.injection for case in UNTRUSTED_CASES) >= 3
