#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine (Debian/Ubuntu, as root) for trying the
# cluster path: partitions `normal` (default) and `gpu`, two fake GPUs, munge auth.
# Idempotent: installs slurm-wlm + munge if missing, starts only what is not running.
# State (pid files, spool, logs) lives in $NEWLOGIC_SLURM_STATE (default /var/lib/newlogic-slurm).
set -euo pipefail

STATE=${NEWLOGIC_SLURM_STATE:-/var/lib/newlogic-slurm}
TIMEOUT=${NEWLOGIC_SLURM_TIMEOUT:-60}
HOST=$(hostname -s)
MUNGE_PID=/run/munge/munged.pid  # munged's own default; stop.sh reads the same file
MARK="# written by newlogic cluster/local-slurm/start.sh"

[[ $EUID -eq 0 ]] || { echo "start.sh: run as root (it installs packages and writes /etc/slurm)" >&2; exit 1; }

running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if running "$MUNGE_PID" && running "$STATE/slurmctld.pid" && running "$STATE/slurmd.pid"; then
    echo "local Slurm cluster already running (state in $STATE)"
    sinfo
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm and munge ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends slurm-wlm munge
fi

# Never clobber a real cluster's configuration.
for f in /etc/slurm/slurm.conf /etc/slurm/gres.conf; do
    if [[ -f $f ]] && ! grep -qxF "$MARK" "$f"; then
        echo "start.sh: $f exists and was not written by this script; move it away first" >&2
        exit 1
    fi
done

mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d"
# Slurm refuses a node whose RealMemory exceeds what slurmd measures: announce 90% of it.
MEM=$(free -m | awk '/^Mem:/ { print int($2 * 0.9) }')
# The conf must be in /etc/slurm: jobs do not inherit SLURM_CONF, so srun inside a job reads it there.
# Ports differ from Slurm's defaults so a system slurm (if any) does not collide.
# Accounting is off, so `sacct` cannot answer: profiles use squeue, and MinJobAge keeps
# finished jobs visible to squeue for an hour.
cat > /etc/slurm/slurm.conf <<EOF
$MARK
ClusterName=newlogic
SlurmctldHost=$HOST
SlurmUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
GresTypes=gpu
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$HOST CPUs=$(nproc) RealMemory=$MEM Gres=gpu:2 State=UNKNOWN
PartitionName=normal Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
EOF
# Fake GPUs: two character devices stand in for /dev/nvidia*; jobs get CUDA_VISIBLE_DEVICES set.
cat > /etc/slurm/gres.conf <<EOF
$MARK
AutoDetect=off
NodeName=$HOST Name=gpu File=/dev/tty[0-1]
EOF

[[ -f /etc/munge/munge.key ]] || mungekey --create
if ! running "$MUNGE_PID"; then
    mkdir -p /run/munge  # normally made by systemd's unit, absent without systemd
    /usr/sbin/munged --force  # --force: run as root despite the munge-owned log and key
fi
running "$STATE/slurmctld.pid" || slurmctld
running "$STATE/slurmd.pid" || slurmd

# Ready: both partitions idle, or busy when jobs queued before a stop start running at once.
echo -n "waiting for partitions normal and gpu to be idle "
for ((i = 0; i < TIMEOUT; i++)); do
    states=$(sinfo -h -o '%R=%t' 2>/dev/null | sort | tr '\n' ' ' || true)
    if [[ $states =~ ^gpu=(idle|mix|alloc)\ normal=(idle|mix|alloc)\ $ ]]; then
        echo "ok (${i} s)"
        sinfo
        exit 0
    fi
    echo -n .
    sleep 1
done
echo
echo "start.sh: the cluster did not become idle within $TIMEOUT s (sinfo: ${states:-no answer})" >&2
for log in "$STATE/slurmctld.log" "$STATE/slurmd.log" /var/log/munge/munged.log; do
    [[ -f $log ]] && { echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; }
done
exit 1
