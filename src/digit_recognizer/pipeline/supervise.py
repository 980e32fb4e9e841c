"""DVC run as a child process: its output relayed as it comes (filtered, `output`), every
line kept in the run's log, and on Ctrl-C or SIGTERM every process it started stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from digit_recognizer.pipeline.output import translate


def dvc_command(targets: list[str], force: bool, run_id: str, experiment: bool) -> list[str]:
    if experiment:
        return [sys.executable, "-m", "dvc", "exp", "run", "--name", f"run-{run_id}",
                *(["--force"] if force else []), *targets]
    return [sys.executable, "-m", "dvc", "repro", *(["--force"] if force else []), *targets]


def dvc_repro(root: Path, command: list[str], stage_env: dict[str, str], log: Path,
              verbose: bool = False) -> int:
    """Run DVC, showing its progress on the standard output and the stages' errors on the
    standard error, without the libraries' noise; every line also goes to `log`. Ctrl-C or
    SIGTERM stop every process it started.

    `stage_env` reaches the stages' commands (the run id, where ensemble members train).
    """
    env = {**os.environ, **stage_env,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, bufsize=1,
                               start_new_session=True)
    lock = threading.Lock()
    # Once stopped, what the stages print while they unwind (a kernel's traceback about its
    # closed socket) goes to the log only.
    stopped = threading.Event()

    def relay(stream, to) -> None:
        for line in stream:
            shown = translate(line.rstrip("\n"), verbose)
            with lock:
                record.write(line)
                if shown is not None and not stopped.is_set():
                    print(shown, file=to, flush=True)

    with open(log, "w", encoding="utf-8") as record:
        errors = threading.Thread(target=relay, args=(process.stderr, sys.stderr), daemon=True)
        errors.start()
        try:
            relay(process.stdout, sys.stdout)
            errors.join()
            return process.wait()
        except KeyboardInterrupt:
            stopped.set()
            os.killpg(process.pid, signal.SIGTERM)
            # Keep reading what the stages print while they unwind, or a full pipe would
            # block them before they remove their partial files.
            threading.Thread(target=relay, args=(process.stdout, sys.stdout),
                             daemon=True).start()
            _wait_for_group(process.pid, timeout=120)
            raise


def _wait_for_group(group: int, timeout: float) -> None:
    """Wait until every process of the group has exited (DVC may exit before the stage it
    started has removed its partial files); kill what is left after `timeout` seconds."""
    import psutil  # a dependency of DVC

    def alive(p: psutil.Process) -> bool:
        try:
            return os.getpgid(p.pid) == group and p.status() != psutil.STATUS_ZOMBIE
        except (psutil.Error, OSError):
            return False

    deadline = time.monotonic() + timeout
    while any(alive(p) for p in psutil.process_iter()):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            return
        time.sleep(0.1)
