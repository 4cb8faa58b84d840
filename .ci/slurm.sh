#!/usr/bin/env bash
# A single-node SLURM cluster on 127.0.0.1 for CI (Debian's slurm-wlm + munge), run as root.
#
#   .ci/slurm.sh start    write /etc/slurm/slurm.conf, start munged, slurmctld, slurmd; wait
#                         until `sinfo` reports the node idle; record the daemons' PIDs
#   .ci/slurm.sh status   the recorded PIDs, whether they are alive, and `sinfo`
#   .ci/slurm.sh stop     kill exactly the recorded PIDs (never by name)
#
# Exit status of `start` is non-zero, with a one-line reason on stderr, when SLURM is not
# installed or does not come up; .ci/run turns that into a warning, and
# tests/workflow/test_slurm.py then skips with a reason. `start` on a running cluster that
# this script started is a no-op; `stop` with nothing recorded is a no-op.
#
# Measured on the reference machine (2 cores, gVisor): slurm.conf must be at
# /etc/slurm/slurm.conf (with only SLURM_CONF set, the `srun` inside each job fails);
# proctrack/linuxproc and task/none (no cgroups), accounting off. The snakemake SLURM
# executor then needs `slurm-status-command: squeue` (profiles/slurm/config.yaml), which
# is reliable because finished jobs stay visible to squeue/scontrol for MinJobAge seconds.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
STATE_DIR=${SLURM_CI_STATE_DIR:-/run/biometal-slurm}
PIDS="$STATE_DIR/pids"            # lines "name pid" of the daemons this script started
SPOOL=/var/spool/biometal-slurm    # slurmctld state and slurmd spool (cleared on start)
LOGS=/var/log/slurm
NODE=localhost
WAIT_S=${SLURM_CI_WAIT_S:-60}     # how long `start` waits for the node to be idle

say() { echo "slurm.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

recorded_alive() {
    # true when a PID file exists and every recorded daemon is alive
    [ -s "$PIDS" ] || return 1
    local name pid
    while read -r name pid; do
        alive "$pid" || return 1
    done <"$PIDS"
}

node_state() { timeout 5 sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1 || true; }

record() { echo "$1 $2" >>"$PIDS"; }

read_pidfile() {
    # the PID a daemon wrote to $1, waiting up to 10 s for it to appear
    local i
    for i in $(seq 1 50); do
        if [ -s "$1" ]; then
            local pid
            pid=$(tr -dc '0-9' <"$1")
            if alive "$pid"; then
                echo "$pid"
                return 0
            fi
        fi
        sleep 0.2
    done
    return 1
}

write_conf() {
    # CPUs and memory of this machine, as slurmd itself measures them
    local probe cpus mem memtotal
    probe=$(slurmd -C 2>/dev/null | head -n 1) || probe=""
    cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$probe")
    mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$probe")
    [ -n "$cpus" ] || cpus=$(nproc)
    memtotal=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
    if [ -z "$mem" ] || [ "$mem" -gt "$memtotal" ]; then mem=$memtotal; fi
    # A little below what slurmd measures: a node whose RealMemory exceeds the measured
    # value is drained ("Low RealMemory").
    mem=$((mem * 95 / 100))
    mkdir -p "$CONF_DIR"
    cat >"$CONF" <<EOF
# Written by .ci/slurm.sh: a single-node CI cluster on 127.0.0.1. Do not edit by hand.
ClusterName=biometal-ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
# No cgroups here: processes are tracked through /proc, tasks are not bound
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Accounting off: no slurmdbd; jobs are queried with squeue/scontrol
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Cores and memory are consumable resources: --cpus-per-task and --mem are allocated
# per job and shown by scontrol (NumCPUs, MinMemoryNode)
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
# Finished jobs stay visible to squeue/scontrol for an hour (the executor's squeue
# status checks and the test's scontrol queries rely on it)
MinJobAge=3600
ReturnToService=2
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=5
Waittime=0
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$(hostname) CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    say "wrote $CONF (CPUs=$cpus RealMemory=$mem)"
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    if munge_works; then
        say "munged already answers; using it"
        return 0
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
    fi
    local as_munge=()
    if id munge >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
        chown munge:munge /etc/munge /etc/munge/munge.key
        chmod 700 /etc/munge
        as_munge=(runuser -u munge --)
    fi
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    if [ ${#as_munge[@]} -gt 0 ]; then
        chown munge:munge /run/munge /var/lib/munge /var/log/munge
    fi
    chmod 755 /run/munge
    rm -f /run/munge/munged.pid
    # munged daemonizes itself and writes its PID file
    if [ ${#as_munge[@]} -gt 0 ]; then
        "${as_munge[@]}" /usr/sbin/munged
    else
        /usr/sbin/munged --force
    fi
    local pid
    pid=$(read_pidfile /run/munge/munged.pid) || die "munged did not start"
    record munged "$pid"
    local i
    for i in $(seq 1 25); do
        munge_works && return 0
        sleep 0.2
    done
    die "munged (pid $pid) does not answer: munge -n | unmunge fails"
}

start() {
    for cmd in slurmctld slurmd sinfo sbatch scontrol munged munge; do
        command -v "$cmd" >/dev/null 2>&1 ||
            die "$cmd not found (apt-get install slurm-wlm munge)"
    done
    [ "$(id -u)" -eq 0 ] || die "must run as root (writes $CONF, starts daemons)"
    if recorded_alive; then
        case "$(node_state)" in
            idle* | mixed* | alloc*)
                say "already running (pids: $(awk '{printf "%s=%s ", $1, $2}' "$PIDS"))"
                return 0
                ;;
        esac
        say "recorded daemons alive but the node is not ready; restarting them"
        stop
    fi
    mkdir -p "$STATE_DIR" "$LOGS"
    : >"$PIDS"
    # anything that fails from here on stops what was started
    trap 'rc=$?; if [ $rc -ne 0 ]; then stop || true; fi' EXIT
    write_conf
    rm -rf "$SPOOL"
    mkdir -p "$SPOOL/ctld" "$SPOOL/d"
    rm -f "$STATE_DIR/slurmctld.pid" "$STATE_DIR/slurmd.pid"
    start_munge

    # Both daemonize and write their PID files; -c: start with no saved jobs
    slurmctld -c || die "slurmctld failed to start; see $LOGS/slurmctld.log"
    local pid
    pid=$(read_pidfile "$STATE_DIR/slurmctld.pid") ||
        die "slurmctld did not start; see $LOGS/slurmctld.log: $(tail -n 3 "$LOGS/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
    record slurmctld "$pid"
    slurmd -N "$NODE" || die "slurmd failed to start; see $LOGS/slurmd.log"
    pid=$(read_pidfile "$STATE_DIR/slurmd.pid") ||
        die "slurmd did not start; see $LOGS/slurmd.log: $(tail -n 3 "$LOGS/slurmd.log" 2>/dev/null | tr '\n' ' ')"
    record slurmd "$pid"

    local state="" waited=0
    while [ "$waited" -lt "$WAIT_S" ]; do
        state=$(node_state)
        case "$state" in
            idle* | mixed* | alloc*)
                say "node $NODE is $state after ${waited}s (pids: $(awk '{printf "%s=%s ", $1, $2}' "$PIDS"))"
                trap - EXIT
                return 0
                ;;
            drain* | down* | fail*)
                # e.g. a node that registered with less memory than configured
                scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
                ;;
        esac
        sleep 1
        waited=$((waited + 1))
    done
    die "node $NODE not idle after ${WAIT_S}s (state: '${state:-no answer}'; $(timeout 5 sinfo -h -R 2>/dev/null | tr '\n' ' '); logs in $LOGS)"
}

stop() {
    [ -s "$PIDS" ] || { say "nothing to stop"; return 0; }
    local name pid left
    # slurmd first, munged last (the others use it to authenticate)
    for name in slurmd slurmctld munged; do
        pid=$(awk -v n="$name" '$1 == n {print $2}' "$PIDS")
        [ -n "$pid" ] || continue
        if alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                alive "$pid" || break
                sleep 0.2
            done
            if alive "$pid"; then
                say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        say "stopped $name (pid $pid)"
    done
    left=""
    while read -r name pid; do
        alive "$pid" && left="$left $name=$pid"
    done <"$PIDS"
    rm -f "$PIDS"
    [ -z "$left" ] || { say "still alive:$left"; return 1; }
}

status() {
    if [ -s "$PIDS" ]; then
        local name pid
        while read -r name pid; do
            if alive "$pid"; then echo "$name $pid alive"; else echo "$name $pid dead"; fi
        done <"$PIDS"
    else
        echo "no daemons recorded in $PIDS"
    fi
    timeout 5 sinfo 2>&1 || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
