"""What of DVC's and the stages' output the terminal shows: DVC's progress in the run's words,
without its git and remote hints and without the libraries' noise (all of it in the run's log,
and on the terminal with `--verbose`)."""

from __future__ import annotations

import re

_DVC_LINES = [
    (re.compile(r"^Running stage '(.+)':$"), "--> {}: running"),
    (re.compile(r"^Stage '(.+)' didn't change, skipping$"), "--> {}: unchanged, skipped"),
    (re.compile(r"^Stage '(.+)' is cached - skipping run, checking out outputs$"),
     "--> {}: restored from DVC's run cache (it ran before with this code, data and parameters)"),
    (re.compile(r"^Data and pipelines are up to date\.$"), "--> every stage is up to date"),
    (re.compile(r"^Ran experiment\(s\): (.+)$"),
     "--> recorded as the DVC experiment {} (dvc exp show lists the runs)"),
]
_DVC_NOISE = re.compile(r"^(> |Executing: |Updating lock file|Generating lock file|"
                        r"To track the changes|"
                        r"\s*git add|To enable auto staging|\s*dvc config core\.autostage|"
                        r"Use `dvc push`|Reproducing experiment|Experiment results have been "
                        r"applied|WARNING: No file hash info found for|\s*$)")
# What native libraries and Jupyter print that says nothing about the run: TensorFlow's C++
# log lines (`2026-11-29 14:00:00.000000: I ...`, `E0000 00:00:...`, `WARNING: All log
# messages before absl::InitializeLog()`), oneDNN's notice, CUDA probing on a CPU machine, and
# the kernel's warning about its local TCP connection.
_LIBRARY_NOISE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] |[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log "
    r"messages before absl|.*oneDNN custom operations|.*TF_ENABLE_ONEDNN_OPTS|.*cuda_|.*Unable "
    r"to register cu|.*computation placer|.*This TensorFlow binary is optimized|.*rebuild "
    r"TensorFlow with|.*running over TCP without encryption|.*Kernel .* on TCP|"
    r".*RuntimeWarning: .*TCP|\s+warn\(|.*use_unbounded_threadpool)")


def translate(line: str, verbose: bool = False) -> str | None:
    """A line as the terminal shows it, or None for a line it does not show."""
    line = line.rsplit("\r", 1)[-1]  # a progress bar's last state
    for pattern, template in _DVC_LINES:
        match = pattern.match(line)
        if match:
            return template.format(*match.groups())
    if verbose:
        return line
    return None if _DVC_NOISE.match(line) or _LIBRARY_NOISE.match(line) else line
