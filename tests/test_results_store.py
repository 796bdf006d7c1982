"""The one result reader: what it refuses, each with one line naming the file (newlogic.store.results)."""

import json
from pathlib import Path

import numpy as np
import pytest
from result_fixtures import fake_result

from newlogic.errors import UserError
from newlogic.store.results import read_result, sha256_file


def test_a_valid_result_reads_with_the_arrays_asked_for(tmp_path: Path) -> None:
    path = fake_result(tmp_path / "fgsm.json", [1, 0, 1], attack="fgsm", eps=0.3)
    result = read_result(path, ("adv_correct",), expected={"name": "relu", "seed": 0})
    assert result.setting == "fgsm" and result.samples["adv_correct"].tolist() == [True, False, True]
    assert len(result.data["samples_sha256"]) == 64


@pytest.mark.parametrize(("damage", "message"), [
    (lambda p: p.write_text('{"schema_version": 2, "compl'), "is not valid JSON"),
    (lambda p: p.write_bytes(b"\x80\x81\x00"), "is not valid JSON"),
    (lambda p: p.write_text("[1, 2]"), "not an object"),
    (lambda p: p.write_text(p.read_text().replace('"schema_version": 3', '"schema_version": 1')),
     "schema_version 1, expected 3"),
    (lambda p: p.write_text(p.read_text().replace('"complete": true', '"complete": false')), "is incomplete"),
    (lambda p: p.write_text(p.read_text().replace('"clean_accuracy": 1.0', '"clean_accuracy": Infinity')),
     "Infinity is not a finite number"),  # the strict JSON reader refuses it (newlogic.config_file)
    (lambda p: p.write_text(p.read_text().replace('"clean_accuracy": 1.0', '"clean_accuracy": 1.5')),
     "clean_accuracy 1.5 is not a finite accuracy"),
    (lambda p: p.with_suffix(".npz").unlink(), "per-sample file"),
    (lambda p: p.with_suffix(".npz").write_bytes(p.with_suffix(".npz").read_bytes()[:40]), "does not match its JSON"),
])
def test_damaged_results_are_refused_in_one_line(damage, message: str, tmp_path: Path) -> None:
    path = fake_result(tmp_path / "fgsm.json", [1, 0, 1], attack="fgsm", eps=0.3)
    damage(path)
    with pytest.raises(UserError, match=message) as error:
        read_result(path, ("adv_correct",))
    assert str(path.name) in str(error.value) and "\n" not in str(error.value)


def test_arrays_of_another_length_or_a_truncated_npz_with_its_hash_are_refused(tmp_path: Path) -> None:
    path = fake_result(tmp_path / "fgsm.json", [1, 0, 1], attack="fgsm", eps=0.3)
    data = json.loads(path.read_text()) | {"sample_count": 4}
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="has 3 entries, sample_count is 4"):
        read_result(path, ("adv_correct",))
    npz = path.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:60])
    path.write_text(json.dumps(data | {"samples_sha256": sha256_file(npz)}))
    with pytest.raises(UserError, match="unreadable"):
        read_result(path, ("adv_correct",))
    np.savez(npz, index=np.arange(3))
    path.write_text(json.dumps(data | {"sample_count": 3, "samples_sha256": sha256_file(npz)}))
    with pytest.raises(UserError, match="has no array 'adv_correct'"):
        read_result(path, ("adv_correct",))


def test_another_models_result_is_refused_when_the_model_is_expected(tmp_path: Path) -> None:
    path = fake_result(tmp_path / "fgsm.json", [1], attack="fgsm", eps=0.3, model="relog", seed=1)
    with pytest.raises(UserError, match="belongs to another model: model_ref seed 1, expected 0"):
        read_result(path, expected={"name": "relog", "seed": 0})
