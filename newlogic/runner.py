"""One evaluation process per trained (model, seed): all of its attack settings, noise rejection and checks (issue 13).

Above ``newlogic.evaluation`` and ``newlogic.report`` in the layers (``[tool.importlinter]``): it runs the
evaluation, then the masking checks of the report on its results.

The model is loaded (and its weights hashed) once, the test split read once and only if some
output is missing; the clean scores and zero-gradient flags on it are measured once for all
settings and noise rejection (``newlogic.evaluation.shuffled``). The caching is per output, as
with one process per setting:

- each setting writes its own result (``{out_dir}/{setting}.json``) with its own
  ``request_hash`` (``newlogic.evaluation.evaluate.attack_setting``); a finished result of the
  same request is kept, so deleting one result JSON recomputes only that setting;
- the noise result (``newlogic.evaluation.noise``) is kept when its ``provenance.config_hash``
  matches the request (model fingerprint, ``noise_samples``, seed);
- ``checks.json`` (``newlogic.report.verify_checks.write_verified_checks``) is cheap and always
  rewritten from the model's results, read through the collector's verified reader;
- with the config's ``landscape`` block, ``landscape.json`` beside ``checks.json``
  (``newlogic.evaluation.landscape``; kept when its ``provenance.config_hash`` matches the request),
  which the landscape checks read; its ε defaults to the smallest L∞ ε of the model's settings.

A setting with a ``surrogate`` (transfer) crafts on the model directory that ``surrogate_dirs``
gives for that (canonical) model name: in the workflow, the same seed's run.
"""

import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from newlogic.attacks.request import attack_requests
from newlogic.attacks.suite import table_eps
from newlogic.device import resolve_device
from newlogic.errors import UserError
from newlogic.evaluation.evaluate import LoadedModel, attack_setting, load_model
from newlogic.evaluation.landscape import (
    LANDSCAPE_FILE,
    landscape_options,
    landscape_request,
    landscape_up_to_date,
    write_landscape,
)
from newlogic.evaluation.noise import noise_rejection, noise_up_to_date
from newlogic.evaluation.shuffled import ShuffledTest, lazy_shuffled_test
from newlogic.report.verify_checks import write_verified_checks
from newlogic.spec import canonical_name

NOISE_SAMPLES = 1000  # noise and scrambled images each, as `newlogic noise --n-samples`
RESULT_SUFFIX = ".json"  # a setting's result is {out_dir}/{setting}.json (newlogic.store.paths.RESULT_JSON)


def evaluate_model(model_dir: Path, settings: Mapping[str, Mapping[str, Any]], *, out_dir: Path, seed: int,
                   data_dir: Path, device: str, noise_out: Path | None = None, checks_out: Path | None = None,
                   surrogate_dirs: Mapping[str, Path] | None = None, noise_samples: int = NOISE_SAMPLES,
                   landscape: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Every setting of ``settings`` (config name → setting) on the model in ``model_dir``, then noise and checks.

    ``settings`` are workflow-config settings (``newlogic.attacks.request``); each result goes
    to ``{out_dir}/{name}.json`` (+ ``.npz``). Noise rejection goes to ``noise_out`` and the checks
    over these results to ``checks_out``, each only when given; with ``landscape`` (the config's
    block) and ``checks_out``, the loss landscape to ``landscape.json`` beside it, checked with the
    rest. Returns the files, by setting name, ``noise``, ``checks`` and ``landscape``.
    """
    torch_device = resolve_device(device)
    loaded = load_model(Path(model_dir), torch_device)
    dataset = loaded.trained.dataset
    requests = attack_requests(settings, dataset)
    outputs = {name: Path(out_dir) / f"{name}{RESULT_SUFFIX}" for name in requests}
    test = lazy_shuffled_test(loaded.trained, Path(data_dir), seed, torch_device)
    known = {canonical_name(name, dataset): Path(path) for name, path in (surrogate_dirs or {}).items()}
    surrogates: dict[str, LoadedModel] = {}

    def surrogate(setting: str, name: str | None) -> LoadedModel | None:
        if name is None:
            return None
        if name not in known:
            raise UserError(f"attack setting {setting!r} crafts on surrogate {name!r}: give its model directory "
                            f"(--surrogates); given: {', '.join(known) or 'none'}")
        if name not in surrogates:
            surrogates[name] = load_model(known[name], torch_device)
        return surrogates[name]

    for name, request in requests.items():
        start = time.perf_counter()
        attack_setting(loaded, request.attack, outputs[name], test=test, limit=request.limit,
                       batch_size=request.batch_size, seed=seed, surrogate=surrogate(name, request.surrogate))
        print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if noise_out is not None:
        outputs["noise"] = Path(noise_out)
        if not noise_up_to_date(noise_out, loaded.trained, noise_samples, seed):
            noise_rejection(loaded.trained, test(), Path(model_dir), Path(noise_out), n_samples=noise_samples)
    if checks_out is not None:
        outputs["checks"] = Path(checks_out)
        measured = None
        if landscape is not None:
            outputs["landscape"] = Path(checks_out).with_name(LANDSCAPE_FILE)
            measured = _landscape(loaded, landscape, settings, test, outputs["landscape"], seed)
        write_verified_checks([outputs[name] for name in requests], Path(checks_out), landscape=measured)
    return outputs


def _landscape(loaded: LoadedModel, block: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]],
               test: Callable[[], ShuffledTest], out_path: Path, seed: int) -> dict[str, Any]:
    """The model's ``landscape.json`` (``newlogic.evaluation.landscape``): kept when it is of this request, else
    measured on the seed's first images at ``block``'s ε (default: the smallest L∞ ε of ``settings``)."""
    options = landscape_options(block)
    dataset = loaded.trained.dataset
    linf = [eps for norm, eps in table_eps(settings, dataset) if norm == "linf"]
    if options.eps is None and not linf:
        raise UserError("landscape.eps is not given and no attack setting has an L∞ ε to take it from; "
                        "give landscape.eps (e.g. 0.1)")
    eps = options.eps if options.eps is not None else min(linf)
    request = landscape_request(loaded.ref, dataset, options, eps, seed)
    if not landscape_up_to_date(out_path, request):
        start = time.perf_counter()
        shuffled = test()
        write_landscape(loaded.trained.model, loaded.trained.spec.output, shuffled.images.to(shuffled.device),
                        shuffled.labels.to(shuffled.device), shuffled.order, options, out_path, eps=eps,
                        dataset=dataset, model_name=loaded.trained.spec.name, model_ref=loaded.ref, seed=seed)
        print(f"landscape: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    stored: dict[str, Any] = json.loads(out_path.read_text())
    return stored
