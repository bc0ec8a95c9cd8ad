"""Start and stop a throwaway single-node SLURM (munged, slurmctld, slurmd) for tests.

Everything lives in one folder: config, state, logs, a private munge key and socket, free
ports and two fake GPUs (symlinks to /dev/null), so a system SLURM or munge is never
touched. The daemons run in the foreground (-D / -F), detached with setsid; only their
recorded PIDs are stopped. Needs root: slurmd runs jobs as their owner, munged and
slurmctld insist on their own users otherwise, and the SLURM clients read
/etc/slurm/slurm.conf (the slurm executor plugin's inner srun drops SLURM_CONF), which is
pointed at the generated config with a symlink and removed again at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
DEBIAN_PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
DAEMONS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "srun", "scontrol", "sinfo"]
PARTITION = "debug"
GPU_TYPE = "fake"
MARKER = "salsweep-test-cluster"
N_GPUS = 4


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be started here; the message says why (tests skip with it)."""


def missing_tools() -> list[str]:
    return [tool for tool in DAEMONS if shutil.which(tool) is None]


def ensure_installed() -> None:
    """apt-get install Debian's SLURM and munge when they are missing and we are root."""
    if not missing_tools():
        return
    if os.geteuid() != 0:
        raise SlurmUnavailable(f"not root and {missing_tools()} missing")
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable(f"{missing_tools()} missing and no apt-get to install them")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *DEBIAN_PACKAGES],
    ):
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        if result.returncode != 0:
            raise SlurmUnavailable(f"{' '.join(command)} failed: {result.stderr[-2000:]}")
    if missing_tools():
        raise SlurmUnavailable(f"{missing_tools()} still missing after apt-get install")


def stale_test_link(conf: Path) -> bool:
    """True if `conf` links into a test cluster folder whose daemons are all gone."""
    if not conf.is_symlink():
        return False
    folder = Path(os.readlink(conf)).parent
    if not folder.exists():
        return True
    if not (folder / MARKER).exists():
        return False
    for pid_file in [folder / "slurmctld.pid", folder / "slurmd.pid", folder / "munge/munged.pid"]:
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists():
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_line() -> str:
    """The node as slurmd sees the hardware (a config that claims more drains the node)."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    line = out.splitlines()[0]
    if not line.startswith("NodeName="):
        raise SlurmUnavailable(f"unexpected `slurmd -C` output: {out!r}")
    return line


@dataclass
class SlurmCluster:
    root: Path
    pids: dict[str, int] = field(default_factory=dict)
    node: str = ""
    _linked: bool = False

    # -- config ---------------------------------------------------------------------------
    def write_config(self) -> Path:
        root = self.root
        for sub in ("state", "spool", "munge", "gpus"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / MARKER).write_text("a throwaway SLURM started by salsweep's tests\n")
        (root / "munge").chmod(0o700)
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        for index in range(N_GPUS):
            device = root / "gpus" / f"gpu{index}"
            if not device.is_symlink():
                device.symlink_to("/dev/null")

        line = node_line()
        self.node = line.split()[0].split("=", 1)[1]
        # Without File=, slurmd drops the typed GPUs and the node goes INVAL.
        (root / "gres.conf").write_text(
            f"Name=gpu Type={GPU_TYPE} File={root}/gpus/gpu[0-{N_GPUS - 1}]\n"
        )
        conf = root / "slurm.conf"
        conf.write_text(
            "\n".join(
                [
                    "ClusterName=salsweep-test",
                    f"SlurmctldHost={self.node}(127.0.0.1)",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    f"SlurmctldPort={free_port()}",
                    f"SlurmdPort={free_port()}",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={root}/munge/munge.socket",
                    f"StateSaveLocation={root}/state",
                    f"SlurmdSpoolDir={root}/spool",
                    f"SlurmctldPidFile={root}/slurmctld.pid",
                    f"SlurmdPidFile={root}/slurmd.pid",
                    f"SlurmctldLogFile={root}/slurmctld.log",
                    f"SlurmdLogFile={root}/slurmd.log",
                    # No cgroups in a container: plain process tracking, no task binding.
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "MpiDefault=none",
                    "SchedulerType=sched/backfill",
                    # cons_tres schedules --gpus (what the plugin's gpu=1 turns into).
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "GresTypes=gpu",
                    "ReturnToService=2",
                    # No slurmdbd: sacct fails, so runs use --slurm-status-command squeue,
                    # which sees finished jobs for MinJobAge seconds.
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/none",
                    "MinJobAge=600",
                    "SlurmctldTimeout=30",
                    "SlurmdTimeout=30",
                    f"{line} NodeAddr=127.0.0.1 Gres=gpu:{GPU_TYPE}:{N_GPUS} State=UNKNOWN",
                    # Two jobs per core: the test's jobs mostly wait (imports, polling), so
                    # running a stage's jobs side by side saves whole rounds of status polls.
                    f"PartitionName={PARTITION} Nodes={self.node} Default=YES "
                    "MaxTime=INFINITE State=UP OverSubscribe=FORCE:2",
                    "",
                ]
            )
        )
        return conf

    # -- daemons --------------------------------------------------------------------------
    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.root / f"{name}.stdout", "w")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # setsid: survives the test's process group signals
            env=dict(os.environ, SLURM_CONF=str(self.root / "slurm.conf")),
        )
        log.close()
        self.pids[name] = process.pid

    def _alive(self, name: str) -> bool:
        pid = self.pids.get(name)
        if pid is None:
            return False
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return done == 0

    def _tail(self, name: str) -> str:
        texts = []
        for suffix in (".stdout", ".log"):
            path = self.root / f"{name}{suffix}"
            if path.exists():
                texts.append(path.read_text(errors="replace")[-1500:])
        return "\n".join(texts)

    def _wait(self, what: str, check, timeout: float, daemon: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if not self._alive(daemon):
                raise SlurmUnavailable(
                    f"{daemon} exited while waiting for {what}:\n{self._tail(daemon)}"
                )
            time.sleep(0.3)
        raise SlurmUnavailable(f"timed out waiting for {what}:\n{self._tail(daemon)}")

    def start(self, timeout: float = 60) -> SlurmCluster:
        if os.geteuid() != 0:
            raise SlurmUnavailable("starting slurmd needs root")
        ensure_installed()
        if SYSTEM_CONF.exists() or SYSTEM_CONF.is_symlink():
            # A link left by an earlier test run that died may be replaced; a real config or
            # a cluster that still runs may not.
            if not stale_test_link(SYSTEM_CONF):
                raise SlurmUnavailable(f"{SYSTEM_CONF} exists; refusing to replace it")
            SYSTEM_CONF.unlink()
        conf = self.write_config()
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SYSTEM_CONF.symlink_to(conf)
        self._linked = True
        try:
            munge = self.root / "munge"
            self._spawn(
                "munged",
                [
                    "munged",
                    "--foreground",
                    "--force",
                    f"--socket={munge}/munge.socket",
                    f"--key-file={munge}/munge.key",
                    f"--pid-file={munge}/munged.pid",
                    f"--log-file={self.root}/munged.log",
                    f"--seed-file={munge}/munged.seed",
                ],
            )
            self._wait("the munge socket", (munge / "munge.socket").exists, timeout, "munged")
            self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(conf)])
            self._wait("slurmctld", self._ping, timeout, "slurmctld")
            self._spawn("slurmd", ["slurmd", "-D", "-f", str(conf)])
            self._wait("the node to be idle", self._node_idle, timeout, "slurmd")
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    def _ping(self) -> bool:
        return "UP" in self._run("scontrol", "ping").stdout

    def _node_idle(self) -> bool:
        out = self._run("sinfo", "-h", "-n", self.node, "-o", "%t").stdout.strip()
        if out.startswith(("inval", "drain", "drng")):
            raise SlurmUnavailable(f"node state {out}:\n{self._tail('slurmd')}")
        return out == "idle"

    def stop(self) -> None:
        """Cancel this cluster's jobs, SIGTERM our daemons (slurmd first), then SIGKILL what
        is left; unlink the conf."""
        if self._alive("slurmctld"):
            # Every job on this private cluster is ours; left running, a job step would
            # outlive slurmd.
            subprocess.run(["scancel", "--full", "--user", "root"], capture_output=True, timeout=30)
            deadline = time.monotonic() + 15
            while (
                time.monotonic() < deadline
                and self._run("squeue", "-h", "-t", "PD,R,CG", "-o", "%i").stdout.strip()
            ):
                time.sleep(0.3)
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids.get(name)
            if pid is None or not self._alive(name):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while self._alive(name) and time.monotonic() < deadline:
                time.sleep(0.2)
            if self._alive(name):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        if self._linked and SYSTEM_CONF.is_symlink():
            SYSTEM_CONF.unlink()
            self._linked = False

    def log(self, name: str) -> str:
        return self._tail(name)
