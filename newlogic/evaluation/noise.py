"""Noise rejection (issue 5, SPEC §2 open world, §6): how often a model refuses inputs that are not digits.

Three input sets go through one trained model:

- ``clean``: the whole test split (for reference);
- ``uniform_noise``: ``n_samples`` images with every pixel i.i.d. ``U(0, 1)``;
- ``scrambled``: ``n_samples`` test images (the first of a seeded shuffle) with their pixels
  permuted as the ``scrambling`` negatives do (``newlogic.data_transforms.permute_pixels``: one random
  order of the pixel positions, channels kept), one order per group of ``SCRAMBLE_GROUP`` images.

An input is *rejected* when (``REJECTION``, by ``ModelSpec.output``):

- ``sigmoid`` (``sigmoid_out``): every output ``σ(s_c) < 0.5``, i.e. every score ``s_c < 0``
  (``newlogic.nn.outputs.rejected``);
- ``softmax``: ``max_c softmax(s)_c ≤ 0.5``, i.e. not classified with confidence > 0.5. [project]
  A softmax model cannot abstain; this threshold makes its rate comparable.

Each set's rejection rate is ``#rejected / #inputs``; the mean max-probability
(``max_c p_c``, ``newlogic.nn.outputs.probabilities``) is reported beside it.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from newlogic.config_file import parse_json_text
from newlogic.data_transforms import permute_pixels, uniform_noise
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.evaluation.model_loading import TrainedModel, load_trained_model
from newlogic.evaluation.shuffled import ShuffledTest, lazy_shuffled_test
from newlogic.nn.outputs import CONFIDENCE_THRESHOLD, probabilities, rejected
from newlogic.spec import ModelSpec
from newlogic.store.atomic import atomic_write_json
from newlogic.store.provenance import collect_provenance, config_hash
from newlogic.store.results import NOISE_SCHEMA_VERSION as SCHEMA_VERSION

SCRAMBLE_GROUP = 64  # images sharing one pixel order: the MNIST training batch, as for the scrambling negatives
EVAL_BATCH = 1000


def _sigmoid_rejected(scores: torch.Tensor, _max_probability: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    return rejected(scores, spec)


def _softmax_unconfident(_scores: torch.Tensor, max_probability: torch.Tensor, _spec: ModelSpec) -> torch.Tensor:
    return max_probability <= CONFIDENCE_THRESHOLD


# ModelSpec.output → (definition, rejection test on the scores and their max probability ``max_c p_c``)
REJECTION: dict[str, tuple[str, Callable[[torch.Tensor, torch.Tensor, ModelSpec], torch.Tensor]]] = {
    "sigmoid": ("every sigmoid output < 0.5 (every score < 0)", _sigmoid_rejected),
    "softmax": ("max softmax probability <= 0.5 (not classified with confidence > 0.5)", _softmax_unconfident),
}


def scrambled(images: torch.Tensor, seed: int, group: int = SCRAMBLE_GROUP) -> torch.Tensor:
    """``images`` with their pixels permuted (``permute_pixels``), a fresh order per ``group`` consecutive images."""
    host = torch.Generator().manual_seed(seed)
    return torch.cat([permute_pixels(chunk, host) for chunk in images.split(group)])


def score_statistics(scores: Iterable[torch.Tensor], spec: ModelSpec) -> dict[str, Any]:
    """``{"count", "rejection_rate", "mean_max_probability"}`` of a model's scores, batch by batch (``REJECTION``)."""
    is_rejected = REJECTION[spec.output][1]
    count, rejections, confidence = 0, 0.0, 0.0
    for batch in scores:
        max_probability = probabilities(batch, spec).amax(dim=1)
        count += len(batch)
        rejections += float(is_rejected(batch, max_probability, spec).sum())
        confidence += float(max_probability.double().sum())
    return {"count": count, "rejection_rate": rejections / count, "mean_max_probability": confidence / count}


@torch.no_grad()
def rejection_statistics(model: nn.Module, spec: ModelSpec, images: torch.Tensor, device: torch.device,
                         batch_size: int = EVAL_BATCH) -> dict[str, Any]:
    """``score_statistics`` of ``model`` on ``images``, ``batch_size`` at a time."""
    return score_statistics((model(batch.to(device)) for batch in images.split(batch_size)), spec)


def _check_samples(n_samples: int) -> None:
    if n_samples < 1:
        raise UserError(f"noise rejection needs n_samples >= 1, got {n_samples}")


def evaluate_noise_rejection(model_dir: Path, out_path: Path, *, data_dir: Path, device: str, n_samples: int = 1000,
                             seed: int = 0) -> dict[str, Any]:
    """Rejection rates of the model in ``model_dir`` on clean, uniform-noise and scrambled images; JSON to ``out_path``.

    Loads the model and the test split, then ``noise_rejection``.
    """
    _check_samples(n_samples)
    torch_device = resolve_device(device)
    trained = load_trained_model(model_dir, torch_device)
    test = lazy_shuffled_test(trained, data_dir, seed, torch_device)()
    return noise_rejection(trained, test, Path(model_dir), Path(out_path), n_samples=n_samples)


def noise_request(trained: TrainedModel, n_samples: int, seed: int) -> dict[str, Any]:
    """What a noise result depends on: the model (name, dataset, fingerprint, weights), ``n_samples``, ``seed``."""
    return {"schema_version": SCHEMA_VERSION, "model": trained.spec.name, "dataset": trained.dataset,
            "n_samples": n_samples, "seed": seed,
            "config_hash": (trained.record.get("provenance") or {}).get("config_hash"),
            "weights_sha256": trained.weights_sha256}


def noise_up_to_date(out_path: Path, trained: TrainedModel, n_samples: int, seed: int) -> bool:
    """Whether ``out_path`` holds the noise result of this request (its ``provenance.config_hash``)."""
    try:
        result = parse_json_text(Path(out_path).read_text(encoding="utf-8"), str(out_path))
    except (OSError, UnicodeDecodeError, UserError):
        return False
    stored = result.get("provenance") if isinstance(result, dict) else None
    expected = config_hash(noise_request(trained, n_samples, seed))
    return isinstance(stored, dict) and stored.get("config_hash") == expected


def noise_rejection(trained: TrainedModel, test: ShuffledTest, model_dir: Path, out_path: Path, *,
                    n_samples: int) -> dict[str, Any]:
    """``evaluate_noise_rejection`` on a loaded model and its seed-shuffled test split (``test.seed``).

    The clean set's scores are the ones the attack settings share (``test.clean_scores``).

    Returns (and writes atomically) ``{"schema_version", "model", "dataset", "output",
    "rejection_definition", "threshold", "n_samples", "seed", "inputs": {"clean" | "uniform_noise" |
    "scrambled": {"count", "rejection_rate", "mean_max_probability", "description"}}, "model_ref",
    "provenance"}``; ``provenance.config_hash`` is the hash of ``noise_request``.
    """
    _check_samples(n_samples)
    seed, device = test.seed, test.device
    inputs = {
        "uniform_noise": (uniform_noise(n_samples, tuple(test.images.shape[1:]), seed), "pixels i.i.d. U(0, 1)"),
        "scrambled": (scrambled(test.images[:n_samples], seed),
                      f"test images, pixels permuted (one order per {SCRAMBLE_GROUP} images)"),
    }
    statistics = {
        "clean": {**score_statistics([test.clean_scores(0, len(test))], trained.spec), "description": "the test split"},
        **{name: {**rejection_statistics(trained.model, trained.spec, images, device), "description": description}
           for name, (images, description) in inputs.items()},
    }
    request = noise_request(trained, n_samples, seed)
    result = {
        "schema_version": SCHEMA_VERSION,
        "model": trained.spec.name,
        "dataset": trained.dataset,
        "output": trained.spec.output,
        "rejection_definition": REJECTION[trained.spec.output][0],
        "threshold": CONFIDENCE_THRESHOLD,
        "n_samples": n_samples,
        "seed": seed,
        "inputs": statistics,
        "model_ref": {"dir": str(model_dir), "name": trained.spec.name, "seed": trained.record.get("seed"),
                      "config_hash": request["config_hash"], "weights_sha256": trained.weights_sha256},
        "provenance": collect_provenance(request),
    }
    atomic_write_json(out_path, result)
    return result
