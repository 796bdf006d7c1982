"""Campaign cases of the classes "forged results" and "outputs overwrite inputs" (issue 30): each ends in one line.

*forged results*: a ``checks.json`` whose worst case or statuses were edited (the verdict recomputed to
match), a workflow config copy edited under its hash name, another run's ``model.pt`` under
``newlogic attack`` and ``evaluate``, a result forged consistently (arrays, accuracies and hash agree:
only ``newlogic verify`` sees it), and ``newlogic checks`` over a result whose accuracy is not its
samples'. *outputs overwrite inputs*: ``checks --out`` naming one of its ``--results``, ``evaluate
--noise-out`` naming a finished result, ``--checks-out`` one of ``--out-dir``'s results, ``inspect depth
--out`` into a model directory, ``attack --out x.npz``, and ``aggregate`` on a disk that fills up at its
second file (the old set stays whole).
"""

import contextlib
import errno
import hashlib
import io
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch
import yaml
from bad_inputs_campaign import (
    MODEL,
    TABLE_SETTINGS,
    Build,
    Case,
    Workspace,
    _edit_json,
    _seed_dir,
    aggregate,
    attack,
    results_folder,
)

from newlogic.cli import main
from newlogic.report import checks
from newlogic.store.paths import METRICS_FILE, WEIGHTS_FILE
from newlogic.store.results import sha256_file

FORGED, OVERWRITE = "forged results", "outputs overwrite inputs"


def _checks_json(results: Path) -> Path:
    return _seed_dir(results) / "checks.json"


def _raise_worst_case(report: dict[str, Any]) -> None:
    """The issue's case: a worst case printed above the attack cells it is the minimum of."""
    report["worst_case"][0]["accuracy"] = 0.95


def _all_passed(report: dict[str, Any]) -> None:
    """Every status "passed" and the verdict recomputed from them, so that the file agrees with itself."""
    for status in report["checks"]:
        status.update(status="passed", reason=None)
    report["not_evaluated"] = []
    report["verdict"], report["evidence"] = checks.verdict(report["checks"], report["flags"])
    report["verdict_text"] = f"{report['verdict']} ({len(report['checks'])} checks)"


def _other_seeds_weights(model_dir: Path) -> None:
    """Weights of the same shapes and other values (another seed's ``model.pt``) copied over this one's."""
    state = torch.load(model_dir / WEIGHTS_FILE, weights_only=True)
    torch.save({key: value * 1.5 if value.is_floating_point() else value for key, value in state.items()},
               model_dir / WEIGHTS_FILE)


def _results_copy(workspace: Workspace, case_dir: Path) -> Path:
    results = case_dir / "R"
    shutil.copytree(results_folder(workspace), results)
    return results


def _edited_config_copy(workspace: Workspace, case_dir: Path) -> list[str]:
    """The workflow's ``results/config/<sha16>.json``, a label changed after it was written under its hash."""
    results = _results_copy(workspace, case_dir)
    text = json.dumps(yaml.safe_load((results / "config.yaml").read_text()))
    copy = results / "config" / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    copy.parent.mkdir()
    copy.write_text(text.replace('"MaxOut"', '"Swapped"'))
    return ["aggregate", "--config", str(copy), "--ablation", "demo", "--results-dir", str(results),
            "--out-dir", str(case_dir / "tables")]


def _evaluate_other_weights(workspace: Workspace, case_dir: Path) -> list[str]:
    model = workspace.model_copy(case_dir, _other_seeds_weights)
    return ["evaluate", "--model-dir", str(model), "--settings", json.dumps(TABLE_SETTINGS), "--out-dir",
            str(case_dir / "results"), "--device", "cpu", "--data-dir", str(workspace.root)]


def forge_consistently(result: Path, position: int = 0) -> None:
    """Flip one image's adversarial outcome; its prediction, the accuracies and the ``.npz``'s hash follow."""
    npz = result.with_suffix(".npz")
    with np.load(npz) as stored:
        arrays = {name: stored[name] for name in stored.files}
    flipped = not bool(arrays["adv_correct"][position])
    arrays["adv_correct"][position] = flipped
    arrays["adv_pred"][position] = arrays["label"][position] if flipped else (arrays["label"][position] + 1) % 10
    np.savez_compressed(npz, **arrays)
    data = json.loads(result.read_text())
    batch = arrays["batch"]
    data.update(adv_accuracy=float(np.mean(arrays["adv_correct"])), samples_sha256=sha256_file(npz),
                batch_adv_accuracies=[float(np.mean(arrays["adv_correct"][batch == b])) for b in np.unique(batch)])
    result.write_text(json.dumps(data))


def _verify_forged(workspace: Workspace, case_dir: Path) -> list[str]:
    results = _results_copy(workspace, case_dir)
    forge_consistently(_seed_dir(results) / "fgsm_0.1.json")
    return ["verify", str(results), "--recompute", "5", "--device", "cpu", "--data-dir", str(workspace.root)]


def _checks_over_edited_accuracy(workspace: Workspace, case_dir: Path) -> list[str]:
    results = _results_copy(workspace, case_dir)
    result = _seed_dir(results) / "fgsm_0.1.json"
    data = json.loads(result.read_text())
    result.write_text(json.dumps({**data, "adv_accuracy": 1.0 - data["adv_accuracy"] / 2}))
    return ["checks", "--results", str(result), "--out", str(case_dir / "checks.json")]


def _in_results(command: Callable[[Path, Path, Workspace], list[str]]) -> Build:
    """``command(results, seed_dir, workspace)`` on a copy of the campaign's results folder."""
    def build(workspace: Workspace, case_dir: Path) -> list[str]:
        results = _results_copy(workspace, case_dir)
        return command(results, _seed_dir(results), workspace)

    return build


def _aggregate_full_disk(workspace: Workspace, case_dir: Path) -> Callable[[], int]:
    """A probe: aggregate once, then again on a disk that fills up at the second file; the old set must stay whole."""
    argv = aggregate(lambda _results: None)(workspace, case_dir)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    tables = case_dir / "tables"
    before = {path.name: path.read_bytes() for path in tables.iterdir()}
    writes: list[Path] = []
    original = Path.write_text

    def full_disk_on_the_second(self: Path, *args: Any, **kwargs: Any) -> int:
        writes.append(self)
        if len(writes) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return original(self, *args, **kwargs)

    def probe() -> int:
        with mock.patch.object(Path, "write_text", full_disk_on_the_second):
            code = main(argv)
        after = {path.name: path.read_bytes() for path in tables.iterdir()}
        if after != before:
            sys.stderr.write(f"the tables changed in part: {sorted(after)} against {sorted(before)}\n")
            return 1
        return code

    return probe


FORGERY_CASES: tuple[Case, ...] = (
    Case("checks.json worst case raised", FORGED, aggregate(_edit_json(_checks_json, _raise_worst_case)),
         "checks.json"),
    Case("checks.json all passed, verdict recomputed", FORGED, aggregate(_edit_json(_checks_json, _all_passed)),
         "checks.json"),
    Case("config copy edited under its hash", FORGED, _edited_config_copy, "is named by a hash"),
    Case("attack on another seed's model.pt", FORGED, attack("--attack", "fgsm", edit=_other_seeds_weights),
         "SHA-256"),
    Case("evaluate on another seed's model.pt", FORGED, _evaluate_other_weights, "SHA-256"),
    Case("consistently forged result, verify", FORGED, _verify_forged, "fgsm_0.1.json: sample 0"),
    Case("checks over an edited accuracy", FORGED, _checks_over_edited_accuracy, "is not the mean"),
    Case("checks --out one of its --results", OVERWRITE,
         _in_results(lambda _r, seed, _w: ["checks", "--results", str(seed / "fgsm_0.1.json"), str(
             seed / "noise_0.1.json"), "--out", str(seed / "noise_0.1.json")]), "an input of this command"),
    Case("evaluate --noise-out a finished result", OVERWRITE,
         _in_results(lambda r, seed, w: ["evaluate", "--model-dir", str(r / "models/digits" / MODEL / "seed0"),
                                         "--settings", json.dumps(TABLE_SETTINGS), "--out-dir", str(r / "other"),
                                         "--noise-out", str(seed / "fgsm_0.1.json"), "--device", "cpu",
                                         "--data-dir", str(w.root)]), "is a finished result"),
    Case("evaluate --checks-out a result of --out-dir", OVERWRITE,
         _in_results(lambda r, seed, w: ["evaluate", "--model-dir", str(r / "models/digits" / MODEL / "seed0"),
                                         "--settings", json.dumps(TABLE_SETTINGS), "--out-dir", str(r / "new"),
                                         "--checks-out", str(r / "new" / "noise_0.1.json"), "--device", "cpu",
                                         "--data-dir", str(w.root)]), "is also written as --out-dir"),
    Case("inspect depth --out M/metrics.json", OVERWRITE,
         lambda w, d: ["inspect", "depth", "--layers", "2", "--width", "4", "--out",
                       str(w.model_copy(d, lambda _model: None) / METRICS_FILE)], "model directory"),
    Case("attack --out x.npz", OVERWRITE,
         lambda w, d: ["attack", "--model-dir", str(w.model), "--attack", "fgsm", "--out", str(d / "x.npz"),
                       "--device", "cpu", "--data-dir", str(w.root)], "x.npz does not end with .json"),
    Case("aggregate on a full disk", OVERWRITE, _aggregate_full_disk, "ENOSPC"),
)
