"""Driver of tests/test_ray.py, run inside a network namespace where only loopback is up.

    unshare --net --pid --fork --mount-proc sh -c 'ip link set lo up && python THIS SPLIT OUT'

Starts a Ray head and a worker node (`ray start`, 2 logical CPUs each: one member each), notes
every node's address, then through the `ray` executor:
1. trains the tiny members, killing the worker node (its raylet and the member's worker
   process, by process id) in the middle of the member it runs: that member must be retried
   on the head, and both must come out as the local executor makes them;
2. trains one member with retries=0, killing its worker process: the run must fail, naming the
   member, and leave no file of it.
Writes OUT/report.json and OUT/run.npz for the test to compare with `local`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from member_support import TINY_MEMBERS  # noqa: E402

from digit_recognizer.errors import DigitRecognizerError  # noqa: E402
from digit_recognizer.learning import executors  # noqa: E402

RAY = str(Path(sys.executable).parent / "ray")
PORT = 6379  # a network namespace of our own: no one else's port
ADDRESS = f"127.0.0.1:{PORT}"
RAY_ENV = {
    # Notice a dead node within seconds, not the default half minute.
    "RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3", "RAY_USAGE_STATS_ENABLED": "0",
    # Loopback only, so no token; and whatever ~/.ray/auth_token holds has no say.
    "RAY_AUTH_MODE": "disabled",
}


def start_cluster(temp_dir: str, attempts: int = 3) -> int:
    """A head and a worker node; on a busy machine a node can miss Ray's 30 s start-up limit."""
    nodes = [["--head", f"--port={PORT}", "--include-dashboard=false", f"--temp-dir={temp_dir}"],
             [f"--address={ADDRESS}"]]
    for attempt in range(1, attempts + 1):
        for args in nodes:
            run = subprocess.run([RAY, "start", *args, "--num-cpus=2", "--disable-usage-stats",
                                  "--object-store-memory=200000000"],
                                 capture_output=True, text=True, timeout=180)
            if run.returncode:
                print(f"ray start {args[0]}: attempt {attempt} failed:\n{run.stderr[-2000:]}",
                      file=sys.stderr)
                ray_stop()
                break
        else:
            return attempt
    raise RuntimeError(f"could not start the Ray cluster in {attempts} attempts")


def ray_stop() -> None:
    # Only this namespace's Ray processes: it has a PID namespace of its own.
    subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=60)


def raylets(head: bool) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and cmd[0].endswith("/raylet") and ("--head" in cmd) == head:
            found.append(p)
    return found


def member_process(raylet: psutil.Process, min_cpu_seconds: float,
                   timeout: float = 120) -> psutil.Process:
    """The worker process of `raylet` that is training a member, once it is well under way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in raylet.children():
            try:
                if (child.cmdline()[:1] == ["ray::train_member"]
                        and sum(child.cpu_times()[:2]) >= min_cpu_seconds):
                    return child
            except psutil.Error:
                pass
        time.sleep(0.1)
    raise TimeoutError("no member started on that node")


def kill_when_busy(raylet: psutil.Process, kill_raylet: bool, report: dict) -> threading.Thread:
    def kill() -> None:
        worker = member_process(raylet, min_cpu_seconds=2)
        report["killed_pid"] = worker.pid
        if kill_raylet:
            os.kill(raylet.pid, signal.SIGKILL)
        os.kill(worker.pid, signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def main(split: str, out: str) -> None:
    import ray

    os.environ.update(RAY_ENV)  # for the nodes and this driver alike
    out_dir = Path(out)
    temp_dir = tempfile.mkdtemp(prefix="dr-ray-")  # short: Ray's socket paths must fit 107 bytes
    report: dict = {}
    began = time.perf_counter()
    try:
        report["start_attempts"] = start_cluster(temp_dir)
        report["start_seconds"] = time.perf_counter() - began
        ray.init(address=ADDRESS, log_to_driver=False, logging_level="WARNING")
        report["nodes"] = [n["NodeManagerAddress"] for n in ray.nodes()]
        ray.shutdown()

        [worker_raylet] = raylets(head=False)
        report["run"] = {"progress": []}
        killer = kill_when_busy(worker_raylet, kill_raylet=True, report=report["run"])
        start = time.perf_counter()
        results = executors.run_members(
            TINY_MEMBERS, split, "ray", ADDRESS, retries=2,
            on_done=lambda result, done, total: report["run"]["progress"].append(done))
        killer.join(timeout=1)
        report["run"].update(seconds=time.perf_counter() - start,
                             where=[r.where for r in results])
        np.savez(out_dir / "run.npz", *[a for r in results for a in (r.val_probs, r.test_probs)])

        ray.init(address=ADDRESS, log_to_driver=False, logging_level="WARNING")
        report["nodes"] += [n["NodeManagerAddress"] for n in ray.nodes()]
        report["run"]["alive"] = [n["Alive"] for n in ray.nodes()]
        [head_raylet] = raylets(head=True)
        report["failing"] = {}
        killer = kill_when_busy(head_raylet, kill_raylet=False, report=report["failing"])
        start = time.perf_counter()
        try:
            executors.run_members(TINY_MEMBERS[1:], split, "ray", retries=0,
                                  out_dir=out_dir / "failing")
            report["failing"]["error"] = None
        except DigitRecognizerError as exc:
            report["failing"]["error"] = str(exc)
        killer.join(timeout=1)
        report["failing"].update(seconds=time.perf_counter() - start,
                                 files=sorted(p.name for p in out_dir.glob("failing/*")))
        ray.shutdown()
    finally:
        ray_stop()
        shutil.rmtree(temp_dir, ignore_errors=True)
        report["total_seconds"] = time.perf_counter() - began
        (out_dir / "report.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:3])
