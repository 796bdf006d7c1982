"""The one rule for output paths (newlogic.store.outputs): no output names an input of its command, a model
directory's file, a reserved file or a suffix the command does not write; aggregate's files appear all or none."""

import errno
import json
from pathlib import Path

import pytest
from result_fixtures import fake_model_dir, fake_setting_result
from test_collect import CONFIG, _files

from newlogic.cli import main
from newlogic.errors import UserError
from newlogic.store import paths
from newlogic.store.outputs import all_or_nothing, check_outputs, folder_output, json_output, result_output

FGSM = {"attack": "fgsm", "eps": 0.1, "limit": 5}


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """One run's model directory and a finished fgsm_0.1 result (hand-made, no torch)."""
    reference = fake_model_dir(tmp_path, "relu", 0)
    fake_setting_result(tmp_path, reference, "fgsm_0.1", {"attack": "fgsm", "eps": 0.1}, [1, 0, 1, 1, 0])
    return tmp_path


def _model(root: Path) -> Path:
    return paths.model_dir(root, "digits", "relu", 0)


def _result(root: Path) -> Path:
    return paths.result_json(root, "digits", "relu", 0, "fgsm_0.1")


def test_checks_out_naming_one_of_its_results(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _result(run).read_bytes()
    assert main(["checks", "--results", str(_result(run)), "--out", str(_result(run))]) == 2
    assert "an input of this command" in _one_line(capsys) and _result(run).read_bytes() == before


def test_evaluate_noise_out_naming_a_finished_result(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = _result(run).parent
    assert main(["evaluate", "--model-dir", str(_model(run)), "--settings", json.dumps({"bim_0.1": FGSM}),
                 "--out-dir", str(out_dir), "--noise-out", str(_result(run))]) == 2
    assert "is a finished result" in _one_line(capsys)


def test_evaluate_outputs_that_are_the_same_file(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = run / "elsewhere"
    assert main(["evaluate", "--model-dir", str(_model(run)), "--settings", json.dumps({"fgsm_0.1": FGSM}),
                 "--out-dir", str(out_dir), "--checks-out", str(out_dir / "fgsm_0.1.json")]) == 2
    assert "is also written as --out-dir" in _one_line(capsys)


def test_inspect_depth_into_a_model_directory(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = _model(run) / paths.METRICS_FILE
    before = metrics.read_bytes()
    assert main(["inspect", "depth", "--layers", "2", "--width", "4", "--out", str(metrics)]) == 2
    assert "points into a model directory" in _one_line(capsys) and metrics.read_bytes() == before


def test_attack_out_with_a_suffix_it_does_not_write(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "--model-dir", str(_model(run)), "--attack", "fgsm", "--out", str(run / "x.npz")]) == 2
    assert "x.npz does not end with .json" in _one_line(capsys) and not (run / "x.npz").exists()


@pytest.mark.parametrize(("output", "message"), [
    (json_output(Path("a/checks.json"), "--noise-out", "noise"), "reserved for the checks"),
    (json_output(Path(".json"), "--out", "analysis"), "does not end with .json"),
    (folder_output(Path("x.json"), "--out-dir", "tables"), "is a file"),
    (result_output(Path("metrics.json"), "--out"), "points into a model directory"),
])
def test_the_rule_names_the_option_and_the_path(output: object, message: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("x.json").write_text("{}")
    with pytest.raises(UserError, match=message) as error:
        check_outputs([output])  # type: ignore[list-item]
    assert str(error.value).startswith(f"{output.option} {output.path} ")  # type: ignore[attr-defined]


def test_what_the_workflow_writes_passes(run: Path) -> None:
    """Re-running evaluate over its own results, noise and checks is no collision (the workflow does it)."""
    out_dir = _result(run).parent
    check_outputs([folder_output(out_dir, "--out-dir", "results", ["fgsm_0.1.json", "fgsm_0.1.npz"]),
                   json_output(paths.noise_json(run, "digits", "relu", 0), "--noise-out", "noise"),
                   json_output(out_dir / "checks.json", "--checks-out", "checks")], model_dirs=[_model(run)])
    check_outputs([result_output(_result(run), "--out")], model_dirs=[_model(run)])  # attack over its own result


def _aggregate(results: Path, out_dir: Path, config: Path) -> list[str]:
    return ["aggregate", "--config", str(config), "--ablation", "demo", "--results-dir", str(results),
            "--out-dir", str(out_dir)]


def test_aggregate_writes_all_its_files_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    results, tables = tmp_path / "results", tmp_path / "tables"
    for model in ("relu", "relog"):
        for seed in (0, 1):
            _files(results, model, seed)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    assert main(_aggregate(results, tables, config)) == 0
    first = {path.name: path.read_bytes() for path in tables.iterdir()}
    assert sorted(first) == ["demo.csv", "demo.md", "demo.summary.json", "demo.tex"]
    capsys.readouterr()
    metrics = paths.model_dir(results, "digits", "relog", 0) / paths.METRICS_FILE
    metrics.write_text(metrics.read_text().replace('"test_accuracy": 0.8', '"test_accuracy": 0.5'))
    writes = []
    original = Path.write_text

    def full_disk_on_the_second(self: Path, *args: object, **kwargs: object) -> int:
        writes.append(self)
        if len(writes) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full_disk_on_the_second)
    assert main(_aggregate(results, tables, config)) == 2
    assert "ENOSPC" in _one_line(capsys) and len(writes) == 2
    assert {path.name: path.read_bytes() for path in tables.iterdir()} == first  # the old set, whole; no temporaries
    monkeypatch.undo()
    assert main(_aggregate(results, tables, config)) == 0
    assert all((tables / name).read_bytes() != first[name] for name in ("demo.csv", "demo.summary.json"))


def test_all_or_nothing_moves_what_was_staged_only_on_success(tmp_path: Path) -> None:
    with all_or_nothing(tmp_path / "out") as staging:
        (staging / "a.txt").write_text("a")
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["a.txt"]
    with pytest.raises(RuntimeError), all_or_nothing(tmp_path / "out") as staging:
        (staging / "b.txt").write_text("b")
        raise RuntimeError("failed after the first file")
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["a.txt"]
