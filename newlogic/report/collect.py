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
- ``checks.json``: its schema version and ``model_ref``, then every field the checks produce (worst
  cases, flags, statuses, cells, verdict) equal to ``newlogic.report.checks.run_checks`` on the
  verified results it names (``newlogic.report.verify_checks.check_recomputed``): a number in it is
  never read, only recomputed and compared.

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

from newlogic.attacks import resolve_setting
from newlogic.attacks.request import attack_request
from newlogic.errors import UserError
from newlogic.names import safe_name_error
from newlogic.report import checks
from newlogic.report.samples import SAMPLE_ARRAYS, Result
from newlogic.report.verify_checks import RERUN_CHECKS, check_recomputed, check_samples, count, fraction, refuse
from newlogic.store import paths
from newlogic.store.json_file import read_json_object
from newlogic.store.model_dir import SCHEMA_VERSION as MODEL_DIR_SCHEMA_VERSION
from newlogic.store.model_dir import WEIGHTS_HASH_KEY, read_record, verify_record
from newlogic.store.results import (
    LANDSCAPE_FILE,
    LANDSCAPE_SCHEMA_VERSION,
    NOISE_SCHEMA_VERSION,
    read_result,
    sha256_file,
)
from newlogic.study import Ablation, Study, get_ablation

REFERENCE_KEYS = ("name", "seed", "config_hash", WEIGHTS_HASH_KEY)  # model_ref fields every file must match
NOISE_INPUTS = ("uniform_noise", "scrambled")


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


def _mapping(path: Path, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise refuse(path, f"{key} is {type(value).__name__}, not an object")
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
            raise refuse(path, f"model_ref {key} {reference.get(key)!r} is not the model directory's "
                                f"{expected[key]!r} (a file of another model or of other weights)",
                         "compute it again for this model")


def _check_schema(path: Path, data: Mapping[str, Any], version: int) -> None:
    if data.get("schema_version") != version:
        raise refuse(path, f"schema_version {data.get('schema_version')!r}, expected {version}",
                     "compute it again with this version")


def _landscape(path: Path, expected: dict[str, Any]) -> dict[str, Any]:
    """A verified ``landscape.json`` (``newlogic.evaluation.landscape``): schema, ``model_ref``, and every list the
    landscape checks read: 0/1 per image (``n_images`` each, accuracies their means), step counts per image with
    masked ≤ blind ≤ path, the attack's settings."""
    rerun = "run 'newlogic evaluate' again"
    data = read_json_object(path, rerun)
    _check_schema(path, data, LANDSCAPE_SCHEMA_VERSION)
    _check_reference(path, data, expected)
    images = data.get("n_images")
    if isinstance(images, bool) or not isinstance(images, int) or images < 0:
        raise refuse(path, f"n_images {images!r} is not a count", rerun)
    attack, gradients = _mapping(path, data, "attack"), _mapping(path, data, "gradients")
    numbers = [attack.get("restarts"), attack.get("temperature"), attack.get("final_temperature"),
               _mapping(path, data, "iterations").get("eps"), gradients.get("eps"), gradients.get("steps")]
    if not (isinstance(attack.get("attack"), str) and isinstance(attack.get("loss"), str) and all(
            isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers)):
        raise refuse(path, f"attack {str(attack)[:80]} or the ε and steps of its sweeps are not as written", rerun)
    for sweep, axis in (("iterations", "steps"), ("eps_sweep", "eps")):
        entry = _mapping(path, data, sweep)
        rows, values, accuracy = entry.get("correct"), entry.get(axis), entry.get("accuracy")
        if not (isinstance(rows, list) and isinstance(values, list) and isinstance(accuracy, list)
                and len(rows) == len(values) == len(accuracy) >= (2 if sweep == "iterations" else 1)
                and all(isinstance(row, list) and len(row) == images and set(row) <= {0, 1} for row in rows)
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
            raise refuse(path, f"{sweep} is not one 0/1 list of {images} images per {axis}", rerun)
        for at, (row, value) in enumerate(zip(rows, accuracy, strict=True)):
            if not math.isclose(fraction(path, f"{sweep}.accuracy[{at}]", value), sum(row) / images if images else 0.0):
                raise refuse(path, f"{sweep}.accuracy[{at}] {value!r} is not the mean of its images", rerun)
    steps = [gradients.get(key) for key in ("path_steps", "blind_steps", "masked_steps")]
    if not (all(isinstance(v, list) and len(v) == images and all(isinstance(n, int) and not isinstance(n, bool)
                                                                     and n >= 0 for n in v) for v in steps)
            and all(m <= b <= t for t, b, m in zip(*steps, strict=True))):
        raise refuse(path, f"gradients' path, blind and masked step counts are not {images} counts with "
                           "masked ≤ blind ≤ path", rerun)
    fraction(path, "gradients.blind_step_fraction", gradients.get("blind_step_fraction"))
    return data


@dataclass
class _Collector:
    """Reads and verifies one ablation's files; ``missing`` lists the absent ones, ``hashes`` caches SHA-256s."""

    ablation: Ablation
    attacks: dict[str, dict[str, Any]]
    results_dir: Path
    configured: dict[str, Any]
    missing: list[tuple[Path, str]] = field(default_factory=list)
    hashes: dict[Path, str] = field(default_factory=dict)
    results: dict[Path, Result] = field(default_factory=dict)

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
            raise refuse(record_path, f"records model {found[0]!r}, seed {found[1]!r}, dataset {found[2]!r}; this "
                                       f"directory holds {name!r}, seed {seed}, {self.ablation.dataset!r} (misplaced)",
                         "train the model again")
        weights_hash = record.get(WEIGHTS_HASH_KEY)
        if not isinstance(weights_hash, str):
            raise refuse(record_path, f"has no {WEIGHTS_HASH_KEY} (trained before weights were recorded)",
                         f"delete {model_dir} and train it again")
        if self.sha256(weights) != weights_hash:
            raise refuse(weights, f"its SHA-256 is not {record_path.name}'s {WEIGHTS_HASH_KEY} (weights of another "
                                   "run, or changed)", f"delete {model_dir} and train it again")
        return record, {"name": name, "seed": seed, "config_hash": fingerprint, WEIGHTS_HASH_KEY: weights_hash}

    def metrics(self, path: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
        if not self.present(path):
            return None
        metrics = read_json_object(path, "train the model again")
        _check_schema(path, metrics, MODEL_DIR_SCHEMA_VERSION)
        _check_reference(path, metrics, expected)
        fraction(path, "final.test_accuracy", _mapping(path, metrics, "final").get("test_accuracy"))
        flags = metrics.get("flags", [])
        if not isinstance(flags, list) or not all(isinstance(flag, str) for flag in flags):
            raise refuse(path, f"flags {flags!r} is not a list of names", "train the model again")
        epochs = metrics.get("epochs")
        if not isinstance(epochs, list) or not all(isinstance(epoch, dict) and "epoch" in epoch for epoch in epochs):
            raise refuse(path, "epochs is not a list of per-epoch objects", "train the model again")
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
            fraction(path, f"inputs.{name}.rejection_rate", entry.get("rejection_rate"))
            count(path, f"inputs.{name}.count", entry.get("count"))
        return noise

    def checks(self, path: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
        """The run's ``checks.json``, trusted only as what the checks give on the verified results it names
        (``check_recomputed``); listed missing when one of those results is absent."""
        if not self.present(path):
            return None
        report = read_json_object(path, RERUN_CHECKS)
        _check_schema(path, report, checks.SCHEMA_VERSION)
        _check_reference(path, report, expected)
        settings = report.get("results")
        if not isinstance(settings, list) or not settings or any(safe_name_error(s) for s in settings):
            raise refuse(path, f"results {str(settings)[:80]} is not a list of setting ids", RERUN_CHECKS)
        result_paths = {setting: path.with_name(f"{setting}.json") for setting in settings}
        absent = [found for found in result_paths.values() if not found.is_file()]
        if absent:
            self.missing.append((path, f"cannot be verified: its result {absent[0]} is missing"))
            return None
        landscape = None
        if "landscape" in report:
            if report["landscape"] != LANDSCAPE_FILE:
                raise refuse(path, f"landscape {str(report['landscape'])[:80]!r} is not {LANDSCAPE_FILE!r}",
                             RERUN_CHECKS)
            if not self.present(path.with_name(LANDSCAPE_FILE), f"named by {path}: not found"):
                return None
            landscape = _landscape(path.with_name(LANDSCAPE_FILE), expected)
        check_recomputed(path, report, [self.result(found, setting, expected, self.configured.get(setting))
                                        for setting, found in result_paths.items()], landscape)
        return report

    def result(self, path: Path, setting: str, expected: dict[str, Any],
               configured: Mapping[str, Any] | None) -> Result:
        """The verified result at ``path`` (read once per collection): its model, its samples, and its place
        when the config defines ``setting`` (``configured``; a checks-only setting of another config has none)."""
        if path not in self.results:
            stored = read_result(path, SAMPLE_ARRAYS)
            data = stored.data
            _check_reference(path, data, expected)
            if configured is not None:
                self.check_place(path, setting, data, configured)
            elif data.get("setting") != setting:
                raise refuse(path, f"holds setting {data.get('setting')!r}, not {setting!r} (misplaced)",
                             "run its attack again")
            result = Result(stored.path, data, **stored.samples)
            check_samples(path, result)
            self.results[path] = result
        return self.results[path]

    def check_place(self, path: Path, setting: str, data: Mapping[str, Any], configured: Mapping[str, Any]) -> None:
        """The result is the config's ``setting`` on this model: file name, dataset, attack, ε, parameters."""
        dataset = self.ablation.dataset
        if data.get("setting") != setting or data.get("dataset") != dataset or data.get("model") != \
                data["model_ref"]["name"]:
            raise refuse(path, f"holds setting {data.get('setting')!r} of {data.get('model')!r} on "
                                f"{data.get('dataset')!r}, not {setting!r} on {dataset!r} (misplaced)",
                         "run its attack again")
        request = attack_request(setting, dict(configured), dataset)
        attack = resolve_setting(request.attack, dataset)
        expected = {"attack": attack.name, "preset": attack.preset, "norm": attack.norm,
                    "unbounded": attack.unbounded, "parameters": _plain(attack.params), "limit": request.limit}
        for key, value in expected.items():
            if data.get(key) != value:
                raise refuse(path, f"{key} {data.get(key)!r} is not the configured setting {setting!r}'s {value!r} "
                                    "(a result of another setting)", "run its attack again")
        eps, configured_eps = data.get("eps"), attack.eps
        if (eps is None) != (configured_eps is None) or (eps is not None and configured_eps is not None
                                                         and not math.isclose(eps, configured_eps)):
            raise refuse(path, f"eps {eps!r} is not the configured setting {setting!r}'s {attack.eps!r}",
                         "run its attack again")
        if request.surrogate is not None:
            found = data.get("surrogate_ref")
            surrogate: dict[str, Any] = found if isinstance(found, dict) else {}
            if surrogate.get("name") != request.surrogate or surrogate.get("seed") != data["model_ref"]["seed"]:
                raise refuse(path, f"was crafted on {surrogate.get('name')!r} seed {surrogate.get('seed')!r}, not "
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
        found = {setting: self.result(path, setting, expected, self.attacks[setting])
                 for setting, path in result_paths.items() if self.present(path)}
        return RunFiles(
            seed, model_dir, expected, record, self.metrics(model_dir / paths.METRICS_FILE, expected),
            self.checks(paths.checks_json(self.results_dir, dataset, name, seed), expected),
            self.noise(paths.noise_json(self.results_dir, dataset, name, seed), expected),
            found,
        )


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
    configured = {setting: value for setting, value in attacks.items() if isinstance(value, Mapping)}
    collector = _Collector(ablation, {s: attacks[s] for s in ablation.settings}, Path(results_dir), configured)
    models = tuple(ModelResults(entry.name, entry.label, {seed: collector.run(entry.name, seed)
                                                          for seed in ablation.seeds})
                   for entry in ablation.models)
    return AblationResults(ablation, collector.attacks, models, tuple(collector.missing))


def load_ablation_results(study: Study, ablation_name: str, results_dir: Path | str) -> AblationResults:
    """``collect_ablation`` of a study: the entry point for any new reader of results.

    The study comes from ``newlogic.study_loader.load_study`` (a workflow config copy
    ``results/config/<sha16>.json`` must hash to its name there)."""
    return collect_ablation(study.config, ablation_name, results_dir)
