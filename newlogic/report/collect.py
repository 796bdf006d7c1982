"""The one verified reader of an ablation's files (docs/results.md "Verified files"), no torch.

``collect_ablation(config, ablation, results_dir)`` reads, per model of the ablation (keyed by its
canonical name; labels must be unique) and per seed, the model directory's ``config.json``,
``metrics.json`` and ``model.pt``, the run's ``checks.json`` and ``noise.json`` and every setting's
result with its per-sample arrays. Tables (``newlogic.report.tables``), ``summary.json``
(``newlogic.report.summary``), the ablation figures and the reproduction table read through it.

Every file is verified before any number of it is used:

- ``config.json``: its schema and fingerprint (``newlogic.store.model_dir.verify_record``), its
  model name, seed and dataset, and its ``weights_sha256`` against the SHA-256 of ``model.pt``
  (hashed once per file and collection);
- ``metrics.json``, ``checks.json``, ``noise.json`` and each result: ``model_ref`` (``name``,
  ``seed``, ``config_hash``, ``weights_sha256``) equal to the model directory's;
- each result against its place: ``setting`` equal to its file name, its dataset and model, and
  its attack, preset, norm, ε, resolved parameters and ``limit`` equal to the config's setting
  (``newlogic.attacks.resolve_setting``), a transfer's surrogate; accuracies equal to the means of
  its per-sample arrays, indices distinct and inside the test split;
- values in range: accuracies and rejection rates in [0, 1], counts positive integers;
- ``checks.json``: its schema version, and its verdict equal to the one its flags and check
  statuses give (``newlogic.report.checks.verdict``).

A file that is absent is listed in ``missing`` (tables show ``—``); so is every file of a run whose
model directory has no ``config.json`` or ``model.pt`` (nothing to verify it against). A file that
is present but corrupt, edited, foreign or misplaced is a ``UserError`` naming it: never a number.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.attacks import resolve_setting
from newlogic.attacks.request import attack_request
from newlogic.errors import UserError
from newlogic.report import checks
from newlogic.report.samples import SAMPLE_ARRAYS, Result
from newlogic.report.verdicts import CELL_VERDICTS, FLAGGED
from newlogic.report.worst_case import CASE_KINDS
from newlogic.store import paths
from newlogic.store.json_file import read_json_object
from newlogic.store.model_dir import SCHEMA_VERSION as MODEL_DIR_SCHEMA_VERSION
from newlogic.store.model_dir import WEIGHTS_HASH_KEY, read_record, verify_record
from newlogic.store.results import NOISE_SCHEMA_VERSION, read_result, sha256_file
from newlogic.study import Ablation, get_ablation, load_config

REFERENCE_KEYS = ("name", "seed", "config_hash", WEIGHTS_HASH_KEY)  # model_ref fields every file must match
NOISE_INPUTS = ("uniform_noise", "scrambled")
ACCURACY_SLACK = 1e-9  # a stored accuracy against the mean of its per-sample array


@dataclass(frozen=True)
class RunFiles:
    """One (model, seed): its verified files, each None when absent (then listed in ``missing``).

    ``results`` maps a setting id to its verified result; ``reference`` is the ``model_ref`` every
    file of the run matched (None when the model directory could not be verified).
    """

    seed: int
    model_dir: Path
    reference: dict[str, Any] | None
    record: dict[str, Any] | None
    metrics: dict[str, Any] | None
    checks: dict[str, Any] | None
    noise: dict[str, Any] | None
    results: dict[str, Result]


@dataclass(frozen=True)
class ModelResults:
    """One model (row) of an ablation: canonical ``name``, its ``label``, and its runs by seed."""

    name: str
    label: str
    runs: dict[int, RunFiles]


@dataclass(frozen=True)
class AblationResults:
    """The ablation, its settings as configured, its verified models, and the files missing."""

    ablation: Ablation
    attacks: dict[str, dict[str, Any]]
    models: tuple[ModelResults, ...]
    missing: tuple[tuple[Path, str], ...] = ()

    def model(self, name: str) -> ModelResults:
        """The model whose canonical name is ``name``."""
        return next(model for model in self.models if model.name == name)


def _refuse(path: Path, reason: str, remedy: str = "write it again") -> UserError:
    return UserError(f"{path}: {reason}; {remedy}")


def _fraction(path: Path, key: str, value: Any) -> float:
    """``value`` if it is a finite number in [0, 1], else a UserError naming ``path`` and ``key``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise _refuse(path, f"{key} {value!r} is not a fraction in [0, 1]")
    return float(value)


def _count(path: Path, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _refuse(path, f"{key} {value!r} is not a positive integer")
    return value


def _mapping(path: Path, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _refuse(path, f"{key} is {type(value).__name__}, not an object")
    return value


def _plain(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), for comparing with a stored one."""
    return json.loads(json.dumps(value))


def _check_reference(path: Path, data: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    """``data["model_ref"]`` names the expected model: name, seed, config hash and weights hash."""
    reference = data.get("model_ref")
    reference = reference if isinstance(reference, dict) else {}
    for key in REFERENCE_KEYS:
        if reference.get(key) != expected[key]:
            raise _refuse(path, f"model_ref {key} {reference.get(key)!r} is not the model directory's "
                                f"{expected[key]!r} (a file of another model or of other weights)",
                          "compute it again for this model")


def _check_schema(path: Path, data: Mapping[str, Any], version: int) -> None:
    if data.get("schema_version") != version:
        raise _refuse(path, f"schema_version {data.get('schema_version')!r}, expected {version}",
                      "compute it again with this version")


@dataclass
class _Collector:
    """Reads and verifies one ablation's files; ``missing`` lists the absent ones, ``hashes`` caches SHA-256s."""

    ablation: Ablation
    attacks: dict[str, dict[str, Any]]
    results_dir: Path
    missing: list[tuple[Path, str]] = field(default_factory=list)
    hashes: dict[Path, str] = field(default_factory=dict)

    def sha256(self, path: Path) -> str:
        if path not in self.hashes:
            self.hashes[path] = sha256_file(path)
        return self.hashes[path]

    def present(self, path: Path, reason: str = "not found") -> bool:
        """Whether ``path`` is a file; if not, it is listed as missing with ``reason``."""
        if path.is_file():
            return True
        self.missing.append((path, reason))
        return False

    def reference(self, model_dir: Path, name: str, seed: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The verified ``config.json`` and the ``model_ref`` it gives; None (listed missing) when untrained."""
        record_path, weights = model_dir / paths.CONFIG_FILE, model_dir / paths.WEIGHTS_FILE
        if not self.present(record_path) or not self.present(weights):
            return None
        record = read_record(model_dir)
        spec = verify_record(record, record_path)
        fingerprint = record["provenance"]["config_hash"]
        found = (spec.name, record.get("seed"), record.get("dataset"))
        if found != (name, seed, self.ablation.dataset):
            raise _refuse(record_path, f"records model {found[0]!r}, seed {found[1]!r}, dataset {found[2]!r}; this "
                                       f"directory holds {name!r}, seed {seed}, {self.ablation.dataset!r} (misplaced)",
                          "train the model again")
        weights_hash = record.get(WEIGHTS_HASH_KEY)
        if not isinstance(weights_hash, str):
            raise _refuse(record_path, f"has no {WEIGHTS_HASH_KEY} (trained before weights were recorded)",
                          f"delete {model_dir} and train it again")
        if self.sha256(weights) != weights_hash:
            raise _refuse(weights, f"its SHA-256 is not {record_path.name}'s {WEIGHTS_HASH_KEY} (weights of another "
                                   "run, or changed)", f"delete {model_dir} and train it again")
        return record, {"name": name, "seed": seed, "config_hash": fingerprint, WEIGHTS_HASH_KEY: weights_hash}

    def metrics(self, path: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
        if not self.present(path):
            return None
        metrics = read_json_object(path, "train the model again")
        _check_schema(path, metrics, MODEL_DIR_SCHEMA_VERSION)
        _check_reference(path, metrics, expected)
        _fraction(path, "final.test_accuracy", _mapping(path, metrics, "final").get("test_accuracy"))
        flags = metrics.get("flags", [])
        if not isinstance(flags, list) or not all(isinstance(flag, str) for flag in flags):
            raise _refuse(path, f"flags {flags!r} is not a list of names", "train the model again")
        epochs = metrics.get("epochs")
        if not isinstance(epochs, list) or not all(isinstance(epoch, dict) and "epoch" in epoch for epoch in epochs):
            raise _refuse(path, "epochs is not a list of per-epoch objects", "train the model again")
        return metrics

    def noise(self, path: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
        if not self.present(path):
            return None
        noise = read_json_object(path, "run 'newlogic noise' again")
        _check_schema(path, noise, NOISE_SCHEMA_VERSION)
        _check_reference(path, noise, expected)
        inputs = _mapping(path, noise, "inputs")
        for name in NOISE_INPUTS:
            entry = _mapping(path, inputs, name)
            _fraction(path, f"inputs.{name}.rejection_rate", entry.get("rejection_rate"))
            _count(path, f"inputs.{name}.count", entry.get("count"))
        return noise

    def checks(self, path: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
        if not self.present(path):
            return None
        report = read_json_object(path, "run 'newlogic checks' again")
        _check_schema(path, report, checks.SCHEMA_VERSION)
        _check_reference(path, report, expected)
        flags, statuses = report.get("flags"), report.get("checks")
        if not isinstance(flags, list) or not isinstance(statuses, list) \
                or not all(isinstance(item, dict) for item in [*flags, *statuses]):
            raise _refuse(path, "flags and checks must be lists of objects", "run 'newlogic checks' again")
        unknown = sorted({str(item.get("check")) for item in [*flags, *statuses]} - set(checks.CHECKS))
        flagged = {item.get("check") for item in statuses if item.get("status") == FLAGGED}
        if unknown or flagged != {flag.get("check") for flag in flags} \
                or not all(isinstance(flag.get("settings"), list) for flag in flags):
            detail = f" (unknown checks: {', '.join(unknown)})" if unknown else ""
            raise _refuse(path, f"its flags and check statuses disagree{detail}", "run 'newlogic checks' again")
        word, _evidence = checks.verdict(statuses, flags)
        if report.get("verdict") != word:
            raise _refuse(path, f"verdict {report.get('verdict')!r} is not the {word!r} its checks give (edited)",
                          "run 'newlogic checks' again")
        _check_checks_cells(path, report)
        return report

    def result(self, path: Path, setting: str, expected: dict[str, Any]) -> Result | None:
        if not self.present(path):
            return None
        stored = read_result(path, SAMPLE_ARRAYS)
        data = stored.data
        _check_reference(path, data, expected)
        self.check_place(path, setting, data)
        result = Result(stored.path, data, **stored.samples)
        _check_samples(path, result)
        return result

    def check_place(self, path: Path, setting: str, data: Mapping[str, Any]) -> None:
        """The result is the config's ``setting`` on this model: file name, dataset, attack, ε, parameters."""
        dataset = self.ablation.dataset
        if data.get("setting") != setting or data.get("dataset") != dataset or data.get("model") != \
                data["model_ref"]["name"]:
            raise _refuse(path, f"holds setting {data.get('setting')!r} of {data.get('model')!r} on "
                                f"{data.get('dataset')!r}, not {setting!r} on {dataset!r} (misplaced)",
                          "run its attack again")
        request = attack_request(setting, self.attacks[setting], dataset)
        attack = resolve_setting(request.attack, dataset)
        expected = {"attack": attack.name, "preset": attack.preset, "norm": attack.norm,
                    "unbounded": attack.unbounded, "parameters": _plain(attack.params), "limit": request.limit}
        for key, value in expected.items():
            if data.get(key) != value:
                raise _refuse(path, f"{key} {data.get(key)!r} is not the configured setting {setting!r}'s {value!r} "
                                    "(a result of another setting)", "run its attack again")
        eps, configured = data.get("eps"), attack.eps
        if (eps is None) != (configured is None) or (eps is not None and configured is not None
                                                     and not math.isclose(eps, configured)):
            raise _refuse(path, f"eps {eps!r} is not the configured setting {setting!r}'s {attack.eps!r}",
                          "run its attack again")
        if request.surrogate is not None:
            found = data.get("surrogate_ref")
            surrogate: dict[str, Any] = found if isinstance(found, dict) else {}
            if surrogate.get("name") != request.surrogate or surrogate.get("seed") != data["model_ref"]["seed"]:
                raise _refuse(path, f"was crafted on {surrogate.get('name')!r} seed {surrogate.get('seed')!r}, not "
                                    f"the configured surrogate {request.surrogate!r}", "run its attack again")

    def run(self, name: str, seed: int) -> RunFiles:
        """Every file of one (model, seed), verified."""
        dataset = self.ablation.dataset
        model_dir = paths.model_dir(self.results_dir, dataset, name, seed)
        result_paths = {setting: paths.result_json(self.results_dir, dataset, name, seed, setting)
                        for setting in self.ablation.settings}
        others = [model_dir / paths.METRICS_FILE, paths.checks_json(self.results_dir, dataset, name, seed),
                  paths.noise_json(self.results_dir, dataset, name, seed), *result_paths.values()]
        verified = self.reference(model_dir, name, seed)
        if verified is None:
            unverifiable = f"cannot be verified: {model_dir} has no {paths.CONFIG_FILE} or {paths.WEIGHTS_FILE}"
            self.missing += [(path, unverifiable if path.is_file() else "not found") for path in others]
            return RunFiles(seed, model_dir, None, None, None, None, None, {})
        record, expected = verified
        found = {setting: self.result(path, setting, expected) for setting, path in result_paths.items()}
        return RunFiles(
            seed, model_dir, expected, record, self.metrics(model_dir / paths.METRICS_FILE, expected),
            self.checks(paths.checks_json(self.results_dir, dataset, name, seed), expected),
            self.noise(paths.noise_json(self.results_dir, dataset, name, seed), expected),
            {setting: result for setting, result in found.items() if result is not None},
        )


def _check_samples(path: Path, result: Result) -> None:
    """The per-sample arrays have the dtypes written (bool correctness, integer indices, float norms); accuracies
    and counts agree with them; indices are distinct and inside the test split."""
    data = result.data
    test_size = _count(path, "test_size", data.get("test_size"))
    count = _count(path, "sample_count", data.get("sample_count"))
    if count > test_size or data.get("subset") is not (count < test_size):
        raise _refuse(path, f"sample_count {count}, test_size {test_size} and subset {data.get('subset')!r} "
                            "disagree", "run its attack again")
    kinds = {"index": ("i", "u"), "adv_correct": ("b",), "clean_correct": ("b",), "l2": ("f",)}
    wrong = [name for name, allowed in kinds.items() if getattr(result, name).dtype.kind not in allowed]
    if wrong:
        raise _refuse(path, f"its array {wrong[0]!r} has dtype {getattr(result, wrong[0]).dtype}, not the one "
                            "'newlogic attack' writes", "run its attack again")
    index = np.asarray(result.index)
    if len(np.unique(index)) != count or index.min() < 0 or index.max() >= test_size:
        raise _refuse(path, "its sample indices repeat or lie outside the test split", "run its attack again")
    for key, array in (("adv_accuracy", result.adv_correct), ("clean_accuracy", result.clean_correct)):
        if abs(float(np.mean(array)) - data[key]) > ACCURACY_SLACK:
            raise _refuse(path, f"{key} {data[key]!r} is not the mean of its per-sample array "
                                f"({float(np.mean(array))!r})", "run its attack again")


def _check_checks_cells(path: Path, report: Mapping[str, Any]) -> None:
    """What the tables and the summary read of ``checks.json`` beyond its verdict: each flag's suspect setting,
    each worst case (accuracy in [0, 1], sample count, settings, column, kind, interval) and each cell's word."""
    if not all(isinstance(flag.get("suspect"), str) for flag in report["flags"]):
        raise _refuse(path, "a flag names no suspect setting", "run 'newlogic checks' again")
    cases = report.get("worst_case")
    if not isinstance(cases, list) or not all(isinstance(case, dict) for case in cases):
        raise _refuse(path, "worst_case is not a list of objects", "run 'newlogic checks' again")
    for case in cases:
        _fraction(path, "worst_case accuracy", case.get("accuracy"))
        _count(path, "worst_case sample_count", case.get("sample_count"))
        if not isinstance(case.get("settings"), list) or not isinstance(case.get("column"), str) \
                or case.get("kind") not in CASE_KINDS or not isinstance(case.get("interval"), list):
            raise _refuse(path, "a worst case lacks its settings, column, kind or interval",
                          "run 'newlogic checks' again")
    cells = report.get("cells")
    if not isinstance(cells, dict) or not all(isinstance(cell, dict) and cell.get("verdict") in CELL_VERDICTS
                                              for cell in cells.values()):
        raise _refuse(path, f"cells must map settings to one of {', '.join(CELL_VERDICTS)}",
                      "run 'newlogic checks' again")


def _check_entries(ablation: Ablation, attacks: Mapping[str, Any]) -> None:
    """Rows by canonical name and label, and columns by setting id, must be distinct; every setting configured."""
    for what, values in (("label", [e.label for e in ablation.models]), ("model", [e.name for e in ablation.models]),
                         ("attack setting", list(ablation.settings))):
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise UserError(f"ablation {ablation.name!r} lists {what} {repeated[0]!r} twice; give every row and "
                            "column its own")
    unknown = [setting for setting in ablation.settings if not isinstance(attacks.get(setting), Mapping)]
    if unknown:
        raise UserError(f"ablation {ablation.name!r}: attack setting {unknown[0]!r} is not in the config's attacks; "
                        f"defined: {', '.join(attacks)}")


def collect_ablation(config: Mapping[str, Any], ablation: str | Ablation, results_dir: Path | str) -> AblationResults:
    """Read and verify every file of the ablation (by name, or an ``Ablation``) under ``results_dir``."""
    if isinstance(ablation, str):
        ablation = get_ablation(dict(config), ablation)
    attacks = dict(config.get("attacks") or {})
    _check_entries(ablation, attacks)
    collector = _Collector(ablation, {s: attacks[s] for s in ablation.settings}, Path(results_dir))
    models = tuple(ModelResults(entry.name, entry.label, {seed: collector.run(entry.name, seed)
                                                          for seed in ablation.seeds})
                   for entry in ablation.models)
    return AblationResults(ablation, collector.attacks, models, tuple(collector.missing))


def load_ablation_results(config_source: Path | str, ablation_name: str, results_dir: Path | str) -> AblationResults:
    """``collect_ablation`` of a config file (or inline mapping): the entry point for any new reader of results."""
    return collect_ablation(load_config(config_source), ablation_name, results_dir)
