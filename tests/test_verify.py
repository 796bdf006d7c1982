"""``newlogic verify RESULTS --recompute K`` (newlogic.verify): re-running K seeded images per result ties a result to
its model; a consistently forged result (arrays, accuracies and hashes edited to agree) passes every file check
but not this one. And ``newlogic attack``/``evaluate`` load only the ``model.pt`` their ``config.json`` records."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from newlogic.cli import main
from newlogic.errors import UserError
from newlogic.report.verify_checks import verified_result
from newlogic.store import paths
from newlogic.store.results import sha256_file
from newlogic.verify import result_files, verify_results

SETTINGS = {  # a deterministic attack, random starts, and Square (its random numbers drawn for the whole batch)
    "fgsm_0.3": {"attack": "fgsm", "eps": 0.3, "limit": 20, "batch_size": 10},
    "pgd_0.3": {"attack": "pgd", "eps": 0.3, "nb_iter": 5, "restarts": 2, "limit": 20, "batch_size": 10},
    "square_0.3": {"attack": "square", "eps": 0.3, "square_queries": 10, "limit": 20, "batch_size": 10},
    "transfer_0.3": {"attack": "transfer", "eps": 0.3, "surrogate": "relu", "base_attack": "pgd", "nb_iter": 5,
                     "limit": 20, "batch_size": 10},  # crafted on the model itself: its seed's run, as the workflow
}


@pytest.fixture(scope="module")
def results(digits_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder: the digits ReLU model as seed 0 and its results of ``SETTINGS``."""
    root = tmp_path_factory.mktemp("verify") / "results"
    model_dir = paths.model_dir(root, "digits", "relu", 0)
    shutil.copytree(digits_model_dir, model_dir)
    out = paths.result_json(root, "digits", "relu", 0, "x").parent
    assert main(["evaluate", "--model-dir", str(model_dir), "--settings", json.dumps(SETTINGS), "--out-dir", str(out),
                 "--surrogates", json.dumps({"relu": str(model_dir)}), "--device", "cpu", "--data-dir",
                 str(digits_model_dir.parent)]) == 0
    return root


@pytest.fixture
def copy(results: Path, tmp_path: Path) -> Path:
    target = tmp_path / "results"
    shutil.copytree(results, target)
    return target


def _data_dir(digits_model_dir: Path) -> Path:
    return digits_model_dir.parent


def forge_consistently(root: Path, setting: str, position: int = 0) -> Path:
    """Flip one image's adversarial outcome and make everything else agree: accuracies, batch accuracies, hash."""
    path = paths.result_json(root, "digits", "relu", 0, setting)
    npz = path.with_suffix(".npz")
    with np.load(npz) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["adv_correct"][position] = ~arrays["adv_correct"][position]
    arrays["adv_pred"][position] = arrays["label"][position] if arrays["adv_correct"][position] else \
        (arrays["label"][position] + 1) % 10
    np.savez_compressed(npz, **arrays)
    data = json.loads(path.read_text())
    batches = arrays["batch"]
    data.update(adv_accuracy=float(np.mean(arrays["adv_correct"])), samples_sha256=sha256_file(npz),
                batch_adv_accuracies=[float(np.mean(arrays["adv_correct"][batches == b])) for b in np.unique(batches)])
    path.write_text(json.dumps(data))
    return path


def test_honest_results_agree_on_their_first_images(results: Path, digits_model_dir: Path) -> None:
    assert len(result_files([results])) == len(SETTINGS)
    assert verify_results([results], recompute=5, data_dir=_data_dir(digits_model_dir), device="cpu") == []


def test_a_consistently_forged_result_passes_the_file_checks_but_not_verify(
        copy: Path, digits_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forged = forge_consistently(copy, "pgd_0.3", position=2)
    verified_result(forged)  # hashes, accuracies and arrays agree: the file checks cannot tell
    with pytest.raises(SystemExit) as stop:  # the mismatch lines, then exit 2 (as preflight's findings)
        main(["verify", str(copy), "--recompute", "5", "--device", "cpu", "--data-dir",
              str(_data_dir(digits_model_dir))])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1
    assert str(forged) in err[0] and "sample 2" in err[0] and "adv_correct" in err[0]


def test_a_forgery_beyond_the_recomputed_images_is_not_seen(copy: Path, digits_model_dir: Path) -> None:
    """The spot check's limit, stated: it sees only the first K images of each result."""
    forge_consistently(copy, "fgsm_0.3", position=7)
    data_dir = _data_dir(digits_model_dir)
    assert verify_results([copy], recompute=5, data_dir=data_dir, device="cpu") == []
    assert len(verify_results([copy], recompute=8, data_dir=data_dir, device="cpu")) == 1


def test_square_is_confirmed_in_the_runs_own_batches(copy: Path, digits_model_dir: Path) -> None:
    """Square draws its random numbers for its whole batch: a batch of K differs, the run's batch of 10 does not."""
    data_dir = _data_dir(digits_model_dir)
    assert verify_results([paths.result_json(copy, "digits", "relu", 0, "square_0.3")], recompute=10,
                          data_dir=data_dir, device="cpu") == []
    forge_consistently(copy, "square_0.3", position=1)
    lines = verify_results([copy], recompute=5, data_dir=data_dir, device="cpu")
    assert len(lines) == 1 and "square_0.3.json: sample 1 " in lines[0]


def test_another_order_and_other_parameters_are_named(copy: Path, digits_model_dir: Path) -> None:
    path = paths.result_json(copy, "digits", "relu", 0, "fgsm_0.3")
    npz = path.with_suffix(".npz")
    with np.load(npz) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["index"] = arrays["index"][::-1].copy()
    np.savez_compressed(npz, **arrays)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "samples_sha256": sha256_file(npz)}))
    pgd = paths.result_json(copy, "digits", "relu", 0, "pgd_0.3")
    pgd_data = json.loads(pgd.read_text())
    pgd.write_text(json.dumps({**pgd_data, "parameters": {**pgd_data["parameters"], "nb_iter": 500}}))
    lines = verify_results([path, pgd], recompute=5, data_dir=_data_dir(digits_model_dir), device="cpu")
    assert len(lines) == 2 and "first test-set indices" in lines[0] and "parameters are not" in lines[1]


def test_a_result_of_other_weights_is_named(copy: Path, digits_model_dir: Path) -> None:
    path = paths.result_json(copy, "digits", "relu", 0, "fgsm_0.3")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "model_ref": {**data["model_ref"], "weights_sha256": "0" * 64}}))
    lines = verify_results([path], recompute=5, data_dir=_data_dir(digits_model_dir), device="cpu")
    assert len(lines) == 1 and "made with other weights" in lines[0]


def test_a_file_outside_a_results_folder_is_one_line(tmp_path: Path) -> None:
    stray = tmp_path / "x.json"
    stray.write_text("{}")
    with pytest.raises(UserError, match="is not a result of a results folder"):
        result_files([stray])
    assert main(["verify", str(tmp_path / "absent"), "--device", "cpu"]) == 2


@pytest.mark.parametrize("command", ["attack", "evaluate"])
def test_attack_and_evaluate_refuse_another_seeds_model_pt(command: str, digits_model_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    model_dir = tmp_path / "model"
    shutil.copytree(digits_model_dir, model_dir)
    state = torch.load(model_dir / paths.WEIGHTS_FILE, weights_only=True)  # another run's weights: same shapes
    torch.save({key: value * 1.5 if value.is_floating_point() else value for key, value in state.items()},
               model_dir / paths.WEIGHTS_FILE)
    out = ["--out", str(tmp_path / "out.json")] if command == "attack" else \
        ["--out-dir", str(tmp_path / "out"), "--settings", json.dumps({"fgsm_0.3": SETTINGS["fgsm_0.3"]})]
    extra = ["--attack", "fgsm"] if command == "attack" else []
    code = main([command, "--model-dir", str(model_dir), *out, *extra, "--device", "cpu", "--data-dir",
                 str(_data_dir(digits_model_dir))])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(model_dir / paths.WEIGHTS_FILE) in err[0] and "SHA-256" in err[0]
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "out").exists()


def test_a_transfer_crafted_on_other_weights_is_named(copy: Path, digits_model_dir: Path) -> None:
    path = paths.result_json(copy, "digits", "relu", 0, "transfer_0.3")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "surrogate_ref": {**data["surrogate_ref"], "weights_sha256": "1" * 64}}))
    lines = verify_results([path], recompute=5, data_dir=_data_dir(digits_model_dir), device="cpu")
    assert len(lines) == 1 and "crafted on other weights" in lines[0]
    path.write_text(json.dumps({**data, "surrogate_ref": {**data["surrogate_ref"], "name": "../../x"}}))
    with pytest.raises(UserError, match="surrogate_ref name '../../x'"):
        verify_results([path], recompute=5, data_dir=_data_dir(digits_model_dir), device="cpu")
