"""The status watchdog: a run whose job states stay unreadable is stopped, its Slurm jobs cancelled.

The slurm executor plugin retries a failed status query forever (``slurm-status-attempts`` bounds the
attempts of one check, not the run), and a hung ``squeue`` holds it for a minute per try. The watchdog
runs the same kind of query every ``timeout / 10`` seconds (at most 30 s), each bounded by
``query_seconds`` and killed with its process group on expiry. When none has answered for ``timeout``
seconds it kills the status processes this process started (the plugin's hung ones included, until
the plugin starts no new one),
cancels the run's own jobs by their ids (``scancel ID …``), prints one line naming the failing
command with the fix for that command, and stops the run. With ``T = timeout`` it fires within
``T + T/10 + T/4`` seconds of the last answer and ``scancel`` gets ``T/4``: the run ends within ``2 T``.
"""

import getpass
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from pathlib import Path

from newlogic.errors import UserError
from newlogic.preflight.findings import run_bounded, said

STATUS_TIMEOUT_VARIABLE = "NEWLOGIC_STATUS_TIMEOUT"
DEFAULT_STATUS_TIMEOUT = 300.0
MIN_STATUS_TIMEOUT = 1.0  # seconds; 1e-9 once ran squeue 539 times in 3 s
MAX_STATUS_TIMEOUT = 7 * 86_400.0
STOPPED_EXIT_CODE = 1  # what snakemake itself returns for a failed run
RESTART = "then run the same snakemake command again (finished results are kept)"
ASK_ADMINS = f"ask the cluster's admins why the status command fails; {RESTART}"
STATUS_FIXES = {
    "sacct": "Slurm accounting (slurmdbd) does not answer: add `slurm-status-command: squeue` to the profile, or "
             f"pass --slurm-status-command squeue, or ask the admins to bring slurmdbd back; {RESTART}",
    "squeue": "squeue does not answer, so slurmctld is down or unreachable: check `scontrol ping` and ask the "
              f"admins; {RESTART}",
}


def status_timeout() -> float:
    """``NEWLOGIC_STATUS_TIMEOUT`` in seconds: 0 (the watchdog off) or finite in ``MIN..MAX_STATUS_TIMEOUT``."""
    text = os.environ.get(STATUS_TIMEOUT_VARIABLE, str(DEFAULT_STATUS_TIMEOUT))
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if seconds != 0 and not MIN_STATUS_TIMEOUT <= seconds <= MAX_STATUS_TIMEOUT:  # nan fails both bounds
        raise UserError(f"{STATUS_TIMEOUT_VARIABLE}={text!r:.40}: give seconds, 0 (the watchdog off) or a finite "
                        f"number from {MIN_STATUS_TIMEOUT:g} to {MAX_STATUS_TIMEOUT:g}")
    return seconds


def status_query(command: str) -> list[str]:
    """The query the watchdog runs: the plugin's kind of ``sacct`` or ``squeue`` call, for this user's jobs."""
    if command == "sacct":
        since = f"{datetime.now() - timedelta(days=2):%Y-%m-%dT%H:00}"
        return ["sacct", "-X", "--parsable2", "--noheader", "--format=JobIdRaw,State", "--starttime", since,
                "--endtime", "now"]
    return ["squeue", "--noheader", "--states=all", f"--user={getpass.getuser()}", "--format=%i|%T"]


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids of every process (from ``/proc``)."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def _command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def kill_status_processes(command: str, root: int | None = None) -> list[int]:
    """SIGKILL every descendant of ``root`` (this process) running ``command``, with its own descendants."""
    tree = _children()

    def subtree(pid: int) -> list[int]:
        return [pid] + [below for child in tree.get(pid, []) for below in subtree(child)]

    found = [pid for pid in subtree(root or os.getpid())[1:]
             if any(Path(part).name == command for part in _command_line(pid)[:2])]
    killed = sorted({pid for top in found for pid in subtree(top)})
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return killed


def kill_until_quiet(command: str, settle_seconds: float = 0.2, passes: int = 20) -> None:
    """``kill_status_processes`` until a pass ``settle_seconds`` after the last finds none.

    The plugin retries a failed status query at once, so killing its hung query starts a new one.
    """
    for _ in range(passes):
        if not kill_status_processes(command):
            return
        time.sleep(settle_seconds)


def cancel_jobs(job_ids: Collection[str], seconds: float) -> str:
    """``scancel`` the given jobs (bounded by ``seconds``); what happened, as words for the watchdog's line."""
    if not job_ids:
        return "no job of this run was submitted"
    shown = " ".join(sorted(job_ids, key=lambda job: (len(job), job)))
    answer = run_bounded(["scancel", *job_ids], seconds)
    if answer is None:
        return f"scancel did not answer within {seconds:g} s: cancel the run's jobs yourself (scancel {shown})"
    if answer.returncode != 0:
        return f"scancel {shown}: {said(answer)}"
    return f"cancelled the run's {len(job_ids)} Slurm jobs (scancel {shown})"


def _exit_now() -> None:
    os._exit(STOPPED_EXIT_CODE)


class StatusWatchdog:
    """Stops a run whose job states stay unreadable for ``timeout`` seconds (module docstring).

    ``job_ids`` returns the ids of the run's submitted jobs; ``stop`` ends the run (default: exit at once
    with ``STOPPED_EXIT_CODE``, so that the watchdog's line is the run's last).
    """

    def __init__(self, query: list[str], timeout: float, job_ids: Callable[[], Collection[str]] = tuple,
                 stop: Callable[[], None] | None = None, release: Callable[[], None] = lambda: None) -> None:
        self.query = query
        self.timeout = timeout
        self.job_ids = job_ids
        self.stop = stop or _exit_now
        self.release = release  # run just before the last kill and stop (the hook: snakemake's directory lock)
        self.interval = min(30.0, timeout / 10)
        self.query_seconds = min(max(self.interval, 1.0), timeout / 4)
        self.fired = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="newlogic-status-watchdog", daemon=True)

    def start(self) -> "StatusWatchdog":
        self._thread.start()
        return self

    def _watch(self) -> None:
        last_answer = time.monotonic()
        while True:
            time.sleep(self.interval)
            answer = run_bounded(self.query, self.query_seconds)
            if answer is not None and answer.returncode == 0:
                last_answer = time.monotonic()
                continue
            if time.monotonic() - last_answer >= self.timeout:
                found = f"no answer within {self.query_seconds:g} s" if answer is None else said(answer)
                self._fire(found)
                return

    def _fire(self, found: str) -> None:
        command = Path(self.query[0]).name
        kill_until_quiet(command)
        cancelled = cancel_jobs(self.job_ids(), self.timeout / 4)
        print(f"newlogic: job states unreadable for {self.timeout:g} s ({command}: {found}); {cancelled}; the run "
              f"stopped; fix: {STATUS_FIXES.get(command, ASK_ADMINS)} ({STATUS_TIMEOUT_VARIABLE}={self.timeout:g})",
              file=sys.stderr, flush=True)
        self.release()
        kill_until_quiet(command)  # again: one the plugin started meanwhile would outlive the exit
        self.fired.set()
        self.stop()
