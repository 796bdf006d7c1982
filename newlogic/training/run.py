"""A training run into its model directory: resume, per-epoch log and checkpoint, the finished files.

Resumable: a checkpoint after every epoch; on SIGTERM/SIGUSR1 (what Slurm sends at the time
limit and on preemption), or when the Slurm job's end minus a margin comes (``job_deadline``),
a checkpoint of the exact position inside the epoch, then ``TrainingInterrupted`` (the CLI
exits with ``RESUMABLE_EXIT_CODE``). Running again with the
same options resumes and ends with the same weights, bit for bit on the CPU, as a run that
was never interrupted.
"""


import math
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from newlogic.errors import UserError
from newlogic.progress_log import progress_bar
from newlogic.store.atomic import atomic_write_json, atomic_write_text, remove_stale_temporaries
from newlogic.store.json_file import read_json_object
from newlogic.store.lock import output_lock
from newlogic.store.model_dir import SCHEMA_VERSION, WEIGHTS_HASH_KEY
from newlogic.store.paths import CHECKPOINT_FILE, CONFIG_FILE, DIVERGED_FILE, LOG_FILE, METRICS_FILE, WEIGHTS_FILE
from newlogic.store.provenance import collect_provenance
from newlogic.store.results import sha256_file
from newlogic.training.checkpoint import (
    StopRequest,
    job_deadline,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
    stop_margin,
    stop_on_signals,
    utc_clock,
)
from newlogic.training.curves import TrainingCurves
from newlogic.training.loop import Progress, Run, epoch_metrics, prepare_run, train_epoch
from newlogic.training.torch_save import atomic_torch_save

RESUMABLE_EXIT_CODE = 75  # EX_TEMPFAIL (sysexits.h): stopped on a signal, checkpoint saved; run again to resume
RAMP_TOLERANCE = 1e-4  # a float32 ramp summed in steps of 1/n can end a few ulps below 1
RAMP_FLAGS = {"relog_strength": "relog_ramp_unfinished", "curvature": "curvature_ramp_unfinished"}
FINITE_METRICS = ("train_loss", "test_loss")  # non-finite after an epoch: training diverged


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving a checkpoint; the same command resumes it."""


def _save(run: Run, progress: Progress, out_dir: Path) -> None:
    save_checkpoint(
        out_dir / CHECKPOINT_FILE, run.fingerprint, run.device, run.random,
        model=run.model.state_dict(), optimizer=run.optimizer.state_dict(), scheduler=run.scheduler.state_dict(),
        epoch=progress.epoch, batch=progress.batch, permutation=progress.permutation,
        sums=progress.sums, seconds=progress.seconds, history=progress.history,
    )


def _resume(run: Run, out_dir: Path) -> Progress:
    """The progress of an earlier, interrupted run of the same config, or a fresh start."""
    path = out_dir / CHECKPOINT_FILE
    if not path.is_file():
        return Progress()
    state = load_checkpoint(path, run.fingerprint, run.device)
    print(f"newlogic train: resuming from {path} at epoch {state['epoch']}, batch {state['batch']}", file=sys.stderr)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    restore_rng(state["rng"], run.random)
    permutation = state["permutation"]
    return Progress(
        epoch=state["epoch"], batch=state["batch"],
        permutation=None if permutation is None else permutation.to(run.device),
        sums={key: value.to(run.device) for key, value in state["sums"].items()},
        seconds=state["seconds"], history=state["history"],
    )


def log_line(metrics: dict[str, Any]) -> str:
    """The journal's per-epoch line, then ramp values and the clipped fraction when present."""
    line = (
        f"Epoch: {metrics['epoch']} Train: Loss: {metrics['train_loss']:.4f}"
        f" | Acc: {100 * metrics['train_accuracy']:.2f}%"
        f" Test eval: Loss: {metrics['test_loss']:.4f} | Acc: {100 * metrics['test_accuracy']:.2f}%"
    )
    extras = {"ReLog s": metrics.get("relog_strength"), "Curvature": metrics.get("curvature")}
    line += "".join(f" {label}: {value:.4f}" for label, value in extras.items() if value is not None)
    if "clipped_fraction" in metrics:
        line += f" Clipped: {100 * metrics['clipped_fraction']:.1f}%"
    return line


def _finished(out_dir: Path, fingerprint: str) -> dict[str, Any] | None:
    """The metrics of a finished run of this config in ``out_dir``; UserError if another config finished there,
    or if training there diverged (``diverged.json``)."""
    diverged = out_dir / DIVERGED_FILE
    if diverged.is_file():
        raise UserError(f"training in {out_dir} diverged (flag {diverged}); lower training.lr or clip gradients, "
                        "and train into another --out or delete the directory")
    path = out_dir / METRICS_FILE
    if not path.is_file():
        return None
    metrics = read_json_object(path, f"delete {out_dir} to train again")
    if metrics.get("provenance", {}).get("config_hash") != fingerprint:
        raise UserError(
            f"{out_dir} already holds a finished training with a different config; "
            "use another --out, or delete the directory to train again"
        )
    if not (out_dir / WEIGHTS_FILE).is_file():
        raise UserError(f"{out_dir} has {METRICS_FILE} but no {WEIGHTS_FILE}; delete the directory to train again")
    return metrics


def _flags(final: dict[str, Any]) -> list[str]:
    """``relog_ramp_unfinished`` / ``curvature_ramp_unfinished`` when a ramp ended below 1."""
    return [flag for key, flag in RAMP_FLAGS.items() if final.get(key) is not None and final[key] < 1 - RAMP_TOLERANCE]


def run_training(
    model_name: str, dataset: str, out_dir: Path, *, data_dir: Path, seed: int, device: str,
    training: dict[str, Any], architecture: dict[str, Any], margin: float | None = None,
) -> dict[str, Any]:
    """Train ``model_name`` on ``dataset`` into the model directory ``out_dir``; return its metrics.

    ``training`` / ``architecture`` override the dataset's recipe (unknown keys: UserError).
    A finished directory of the same config is left as it is; a checkpoint of the same config
    is resumed; a checkpoint or finished run of another config is a UserError. Raises
    ``TrainingInterrupted`` after saving a checkpoint when SIGTERM or SIGUSR1 arrives, or
    ``margin`` seconds (``stop_margin``: default ``$NEWLOGIC_STOP_MARGIN`` or 300) before the
    end of the Slurm job it runs in (``job_deadline``).
    """
    out_dir = Path(out_dir)
    deadline = job_deadline(stop_margin(margin))
    with stop_on_signals(deadline) as stop, ExitStack() as held:
        run = prepare_run(model_name, dataset, data_dir=data_dir, seed=seed, device=device,
                          training=training, architecture=architecture)
        out_dir.mkdir(parents=True, exist_ok=True)
        held.enter_context(output_lock(out_dir))  # one writer: a second run here fails now, naming this one
        done = _finished(out_dir, run.fingerprint)
        if done is not None:
            print(f"newlogic train: {out_dir} is already trained with this config; nothing to do", file=sys.stderr)
            return done
        remove_stale_temporaries(out_dir, (CHECKPOINT_FILE, LOG_FILE, CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE))
        progress = _resume(run, out_dir)
        if deadline is not None:
            print(f"newlogic train: will checkpoint and stop at {utc_clock(deadline)} (Slurm job end minus margin)",
                  file=sys.stderr)
        atomic_write_json(out_dir / CONFIG_FILE, {**run.record, "provenance": collect_provenance(run.record)})
        _train_epochs(run, progress, out_dir, stop)
        return _finish(run, progress, out_dir)


def _train_epochs(run: Run, progress: Progress, out_dir: Path, stop: StopRequest) -> None:
    total = run.config.epochs * run.steps_per_epoch
    done = progress.epoch * run.steps_per_epoch + progress.batch
    with (
        progress_bar(total, initial=done, unit="batch", items_per_unit=run.config.batch_size) as bar,
        TrainingCurves(out_dir, run.steps_per_epoch) as curves,
    ):
        while progress.epoch < run.config.epochs:
            bar.set_description(f"epoch {progress.epoch}")
            curves.begin(progress)
            finished = train_epoch(run, progress, stop, bar, on_step=curves.step)
            curves.end(progress)
            if finished:
                progress.history.append(epoch_metrics(run, progress))
                _stop_if_diverged(run, progress.history[-1], out_dir)
                curves.epoch(progress.history[-1], run.optimizer.param_groups[0]["lr"])
                line = log_line(progress.history[-1])
                atomic_write_text(out_dir / LOG_FILE, "".join(log_line(m) + "\n" for m in progress.history))
                bar.write(line, file=sys.stdout)
                run.scheduler.step()
                progress.epoch, progress.batch, progress.permutation = progress.epoch + 1, 0, None
            _save(run, progress, out_dir)
            if stop.reason is not None:
                raise TrainingInterrupted(
                    f"stopped by {stop.reason} at epoch {progress.epoch}, batch {progress.batch}; checkpoint "
                    f"saved in {out_dir / CHECKPOINT_FILE}: run the same command again to resume"
                )


def _stop_if_diverged(run: Run, metrics: dict[str, Any], out_dir: Path) -> None:
    """After an epoch: when a loss or a weight is not finite (NaN, ±inf), flag ``diverged.json`` and stop (UserError).

    The flag records the epoch and what was not finite; no ``metrics.json`` is written, so the
    directory never looks finished, and training there again is refused (``_finished``).
    """
    bad = [key for key in FINITE_METRICS if not math.isfinite(float(metrics[key]))]
    tensors = run.model.state_dict().values()
    if not all(bool(tensor.isfinite().all()) for tensor in tensors if tensor.is_floating_point()):
        bad.append("weights")
    if not bad:
        return
    atomic_write_json(out_dir / DIVERGED_FILE, {"schema_version": SCHEMA_VERSION, "diverged": True,
                                                "epoch": metrics["epoch"], "non_finite": bad,
                                                "provenance": collect_provenance(run.record)})
    raise UserError(f"training diverged at epoch {metrics['epoch']} ({', '.join(bad)} not finite); flagged in "
                    f"{out_dir / DIVERGED_FILE}, no {METRICS_FILE} written; lower training.lr or clip gradients")


def _finish(run: Run, progress: Progress, out_dir: Path) -> dict[str, Any]:
    """Write ``model.pt``, its SHA-256 into ``config.json``, then ``metrics.json`` (last: its presence means
    finished; its ``model_ref`` names the weights), drop the checkpoint."""
    atomic_torch_save(run.model.state_dict(), out_dir / WEIGHTS_FILE)
    weights_sha256 = sha256_file(out_dir / WEIGHTS_FILE)
    record = read_json_object(out_dir / CONFIG_FILE, f"train {out_dir} again")
    atomic_write_json(out_dir / CONFIG_FILE, {**record, WEIGHTS_HASH_KEY: weights_sha256})
    final = progress.history[-1]
    metrics = {
        "schema_version": SCHEMA_VERSION, "epochs": progress.history, "final": final, "flags": _flags(final),
        "training_seconds": sum(m["seconds"] for m in progress.history),
        "model_ref": {"name": run.spec.name, "seed": run.record["seed"], "config_hash": run.fingerprint,
                      WEIGHTS_HASH_KEY: weights_sha256},
        "provenance": collect_provenance(run.record),
    }
    atomic_write_json(out_dir / METRICS_FILE, metrics)
    (out_dir / CHECKPOINT_FILE).unlink(missing_ok=True)
    return metrics
