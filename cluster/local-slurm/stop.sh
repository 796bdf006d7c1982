#!/usr/bin/env bash
# Stop the one-node Slurm cluster started by start.sh: slurmd, slurmctld, munged, each by the
# pid in its pid file (never by name, so nothing else on the machine is touched).
set -euo pipefail

STATE=${NEWLOGIC_SLURM_STATE:-/var/lib/newlogic-slurm}

stop() {  # stop <name> <pid file>: SIGTERM, then wait (ports must be free for a restart)
    local pid
    if [[ ! -f $2 ]] || ! pid=$(cat "$2") || ! kill -0 "$pid" 2>/dev/null; then
        echo "$1: not running"
        return
    fi
    kill "$pid"
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || { echo "$1: stopped"; return; }
        sleep 0.1
    done
    echo "stop.sh: $1 (pid $pid) still running after 10 s" >&2
    exit 1
}

stop slurmd "$STATE/slurmd.pid"
stop slurmctld "$STATE/slurmctld.pid"
stop munged /run/munge/munged.pid
