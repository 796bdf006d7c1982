"""``newlogic verify RESULTS --recompute K``: re-run K seeded images of every result and compare (issue 30).

The verified collector (``newlogic.report.collect``) checks that a result folder's files agree
with each other: hashes, ranges, model references, accuracies against per-sample arrays, checks
recomputed. A result forged consistently (arrays, accuracies and hashes all edited to agree)
passes that, since its hashes refer only to each other. This spot check ties a result to its
model: for each result ``{results}/attacks/{dataset}/{model}/seed{seed}/{setting}.json`` it

1. reads it through the verified reader (``newlogic.report.verify_checks.verified_result``);
2. loads the model of ``{results}/models/{dataset}/{model}/seed{seed}`` (its ``model.pt`` checked
   against the weights hash of its ``config.json``), whose weights hash must be the result's
   ``model_ref.weights_sha256``, and a transfer's surrogate of the same seed;
3. resolves the result's attack, preset and overrides (``newlogic.attacks.resolve_setting``): the
   resolved parameters must be the result's ``parameters``;
4. shuffles the test split with the result's seed (``newlogic.evaluation.shuffled``): the first
   K test-set indices must be the result's;
5. attacks those K images as one batch whose random numbers come from the seed of the run's first
   batch, ``batch_seed(seed, 0)`` (``newlogic.evaluation.batches.evaluate_attack``, as the run
   did), and compares each image's clean and adversarial correctness with the file's;
6. trusts that batch only when it made the same adversarial images: every image's perturbation
   norms and adversarial confidence (``MEASURED``) equal the file's; else (an attack that draws
   its random numbers for the whole batch at once, as Square, or a file whose measurements were
   edited) it attacks them again in the run's own batches (the first batch's size from the
   ``.npz``'s ``batch`` array), and compares those outcomes.

Every disagreement is one line naming the result, the sample and both values; any line makes
the command exit 2. Cost: K images per result (plus the model and the test split, loaded once
per model); the run's first batch only where step 6 needs it.
"""

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newlogic.attacks import resolve_setting
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.evaluation.batches import evaluate_attack
from newlogic.evaluation.evaluate import LoadedModel, load_model
from newlogic.evaluation.shuffled import ShuffledTest, lazy_shuffled_test
from newlogic.names import safe_name_error
from newlogic.report.checks import CHECKS_FILE
from newlogic.report.samples import Result
from newlogic.report.verify_checks import verified_result
from newlogic.store import paths
from newlogic.store.results import read_result

COMPARED = ("clean_correct", "adv_correct")  # the per-sample outcomes compared, by .npz name
MEASURED = ("l2", "linf", "adv_confidence")  # per-image measurements that say the same adversarial image was made
MEASURE_RTOL, MEASURE_ATOL = 1e-4, 1e-6  # float32 sums in batches of another size differ in the last bits
RESULT_DEPTH = 4  # {results}/attacks/{dataset}/{model}/seed{seed}/{setting}.json: the file below the results folder


@dataclass(frozen=True)
class Located:
    """A result file and where it lies: the results folder, dataset, canonical model name and seed."""

    path: Path
    results: Path
    dataset: str
    model: str
    seed: int


def _locate(path: Path) -> Located:
    """``path``'s place in a results folder (``newlogic.store.paths.RESULT_JSON``), or a UserError naming it."""
    parts = path.resolve().parts
    seed = parts[-2].removeprefix("seed")
    if len(parts) < RESULT_DEPTH + 2 or parts[-5] != "attacks" or not parts[-2].startswith("seed") \
            or not seed.isascii() or not seed.isdigit():
        raise UserError(f"{path} is not a result of a results folder ({paths.RESULT_JSON}); give the results folder "
                        "or its result files")
    return Located(path, Path(*parts[:-5]), parts[-4], parts[-3], int(seed))


def result_files(targets: Sequence[Path]) -> list[Located]:
    """The result JSONs of ``targets``: a file as given, a folder's ``attacks/**/seed*/*.json`` but ``checks.json``."""
    found: list[Path] = []
    for target in map(Path, targets):
        if target.is_dir():
            attacks = target / "attacks" if (target / "attacks").is_dir() else target
            found += sorted(path for path in attacks.rglob("*.json") if path.name != CHECKS_FILE)
        elif target.is_file():
            found.append(target)
        else:
            raise UserError(f"{target} does not exist; give a results folder or result JSON files")
    if not found:
        raise UserError(f"no result files under {', '.join(map(str, targets))}; give a results folder "
                        f"({paths.RESULT_JSON})")
    return [_locate(path) for path in found]


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


class _Models:
    """The models of one verification and their seed-shuffled test splits, each loaded once."""

    def __init__(self, device: str, data_dir: Path) -> None:
        self.device = resolve_device(device)
        self.data_dir = data_dir
        self.loaded: dict[Path, LoadedModel] = {}
        self.splits: dict[tuple[Path, int], ShuffledTest] = {}

    def __call__(self, model_dir: Path) -> LoadedModel:
        if model_dir not in self.loaded:
            self.loaded[model_dir] = load_model(model_dir, self.device)
        return self.loaded[model_dir]

    def test_split(self, loaded: LoadedModel, seed: int) -> ShuffledTest:
        key = (Path(loaded.ref["dir"]), seed)
        if key not in self.splits:
            self.splits[key] = lazy_shuffled_test(loaded.trained, self.data_dir, seed, self.device)()
        return self.splits[key]


def _differences(located: Located, result: Result, loaded: LoadedModel, surrogate: LoadedModel | None,
                 recompute: int, test_split: Callable[[LoadedModel, int], ShuffledTest]) -> Iterator[str]:
    """One line per way the result is not what its model, attack and seed give on its first ``recompute`` images."""
    data, where = result.data, located.path
    reference, overrides = data.get("model_ref"), data.get("overrides")
    if not isinstance(reference, dict) or reference.get("weights_sha256") != loaded.ref["weights_sha256"]:
        yield (f"{where}: model_ref.weights_sha256 is not the SHA-256 of {loaded.ref['dir']}/{paths.WEIGHTS_FILE}: "
               "made with other weights")
        return
    if not isinstance(overrides, dict):
        yield f"{where}: overrides {str(overrides)[:80]} is not an object of attack parameters"
        return
    setting = {"attack": data.get("attack"), "preset": data.get("preset"), **overrides}
    attack = resolve_setting(setting, loaded.trained.dataset)
    if _plain(attack.params) != data.get("parameters"):
        yield f"{where}: parameters are not what attack {attack.name!r} with its overrides resolves to"
        return
    seed = data.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed != located.seed:
        yield f"{where}: seed {seed!r} is not its folder's seed{located.seed}"
        return
    test = test_split(loaded, seed)
    count = min(recompute, len(result.index))
    order = test.order[:count].numpy()
    if not np.array_equal(order, result.index[:count]):
        yield (f"{where}: its first test-set indices {result.index[:count].tolist()} are not seed {seed}'s "
               f"order {order.tolist()}")
        return
    crafting = None if surrogate is None else surrogate.trained

    def outcomes(images: int, batch_size: int) -> dict[str, np.ndarray]:
        _, samples = evaluate_attack(test, images, attack, seed=seed, batch_size=batch_size,
                                     desc=f"verify {where.stem}", surrogate=crafting)
        return samples

    def mismatches(samples: dict[str, np.ndarray]) -> list[tuple[int, str, bool, bool]]:
        return [(position, name, stored, again) for position in range(count) for name in COMPARED
                if (stored := bool(getattr(result, name)[position])) != (again := bool(samples[name][position]))]

    measured = _measurements(located.path)
    again = outcomes(count, count)
    if mismatches(again) or not _same_measurements(measured, again, count):
        # a batch of K gave other images than the run (an attack drawing random numbers for its whole batch, as
        # Square): attack them again in the run's own batches, whose outcomes are then compared
        first_batch = int(np.sum(measured["batch"] == 0)) if "batch" in measured else _batch_size_used(data)
        again = outcomes(min(len(result.index), -(-count // first_batch) * first_batch), first_batch)
    for position, name, stored, recomputed in mismatches(again):
        yield (f"{where}: sample {position} (test image {int(order[position])}): {name} {stored} in the file, "
               f"{recomputed} recomputed")


def _measurements(path: Path) -> dict[str, np.ndarray]:
    """The result's ``batch`` and ``MEASURED`` arrays (those its ``.npz`` holds)."""
    found: dict[str, np.ndarray] = {}
    for name in ("batch", *MEASURED):
        try:
            found[name] = np.asarray(read_result(path, (name,)).samples[name])
        except UserError:
            continue
    return found


def _same_measurements(stored: dict[str, np.ndarray], again: dict[str, np.ndarray], count: int) -> bool:
    """Whether every ``MEASURED`` array of the first ``count`` images is the file's (same adversarial images)."""
    return all(name in stored and stored[name].shape[0] >= count and np.allclose(
        stored[name][:count], again[name][:count], rtol=MEASURE_RTOL, atol=MEASURE_ATOL) for name in MEASURED)


def _batch_size_used(data: dict[str, Any]) -> int:
    used = data.get("batch_size_used")
    return used if isinstance(used, int) and not isinstance(used, bool) and used > 0 else 1


def _surrogate_dir(located: Located, name: Any) -> Path:
    """The model directory of a transfer's surrogate: the same results folder, dataset and seed."""
    reason = safe_name_error(name)
    if reason is not None:
        raise UserError(f"{located.path}: surrogate_ref name {name!r} {reason}")
    return paths.model_dir(located.results, located.dataset, name, located.seed)


def verify_results(targets: Sequence[Path], *, recompute: int, data_dir: Path, device: str) -> list[str]:
    """Every result of ``targets`` re-run on its first ``recompute`` seeded images; the mismatch lines (none: all
    agree). A line per result, with its time, goes to stdout."""
    if recompute < 1:
        raise UserError(f"--recompute must be a positive number of images, got {recompute}")
    models = _Models(device, Path(data_dir))
    lines: list[str] = []
    for located in result_files(targets):
        start = time.perf_counter()
        model_dir = paths.model_dir(located.results, located.dataset, located.model, located.seed)
        result = verified_result(located.path)
        found_ref = result.data.get("surrogate_ref")
        surrogate_ref: dict[str, Any] = found_ref if isinstance(found_ref, dict) else {}
        surrogate = models(_surrogate_dir(located, surrogate_ref.get("name"))) if surrogate_ref else None
        if surrogate is not None and surrogate.ref["weights_sha256"] != surrogate_ref.get("weights_sha256"):
            found = [f"{located.path}: surrogate_ref.weights_sha256 is not the SHA-256 of {surrogate.ref['dir']}/"
                     f"{paths.WEIGHTS_FILE}: crafted on other weights"]
        else:
            found = list(_differences(located, result, models(model_dir), surrogate, recompute, models.test_split))
        lines += found
        print(f"{located.path}: {'ok' if not found else f'{len(found)} mismatches'} "
              f"({time.perf_counter() - start:.1f} s)")
    return lines
