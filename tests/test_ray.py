"""The `ray` executor on a real two-node Ray cluster that talks over loopback only.

The driver and both nodes run in a network namespace of their own where only `lo` is up, so
Ray advertises 127.0.0.1 (tests/ray_cluster_check.py); a PID namespace of its own makes sure
that `ray stop --force` and the end of the run take down this cluster's processes, no others.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from member_support import TINY_MEMBERS

from digit_recognizer.learning.members import average

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
NAMESPACE = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child"]
IN_CI = os.environ.get("CI") == "true"


def _unavailable() -> str | None:
    try:
        import ray  # noqa: F401
    except ImportError:
        return "Ray is not installed (./run_all.sh test installs it)"
    try:
        probe = subprocess.run([*NAMESPACE, "sh", "-c", "ip link set lo up"],
                               capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return "unshare is not installed"
    if probe.returncode != 0:
        return f"cannot make a network namespace here: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def cluster_run(tiny_split, tmp_path_factory):
    why = _unavailable()
    if why:
        if IN_CI:
            pytest.fail(f"CI must run the Ray tests: {why}")
        pytest.skip(why)
    out = tmp_path_factory.mktemp("ray")
    script = f"ip link set lo up && {sys.executable} {HERE / 'ray_cluster_check.py'} " \
             f"{tiny_split} {out}"
    run = subprocess.run([*NAMESPACE, "sh", "-c", script], capture_output=True, text=True,
                         timeout=400, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads((out / "report.json").read_text()), out


def _probs(path: Path) -> list[np.ndarray]:
    with np.load(path) as archive:
        return [archive[f"arr_{i}"] for i in range(len(archive.files))]


def _same_as_local(arrays: list[np.ndarray], local) -> bool:
    expected = [a for r in local for a in (r.val_probs, r.test_probs)]
    return len(arrays) == len(expected) and all(map(np.array_equal, arrays, expected))


def test_every_node_talks_over_loopback(cluster_run):
    report, _ = cluster_run
    assert len(report["nodes"]) == 4  # head and worker, before and after the worker's death
    assert set(report["nodes"]) == {"127.0.0.1"}


def test_a_member_whose_node_dies_is_retried_and_all_match_local(cluster_run,
                                                                 tiny_local_results):
    report, out = cluster_run
    run = report["run"]
    assert run["progress"] == [1, 2]
    assert run["killed_pid"], "the worker node was not killed during a member"
    assert sorted(run["alive"]) == [False, True]  # the worker node is gone
    pids = [int(where.split(":")[-1]) for where in run["where"]]
    assert run["killed_pid"] not in pids  # the killed member finished in another process
    probs = _probs(out / "run.npz")
    assert _same_as_local(probs, tiny_local_results)
    assert np.array_equal(np.mean(probs[1::2], axis=0), average(tiny_local_results)[1])


def test_a_member_out_of_retries_fails_the_run_naming_it(cluster_run):
    report, _ = cluster_run
    failing = report["failing"]
    name = TINY_MEMBERS[1].name
    assert failing["killed_pid"]
    assert failing["error"].startswith(f"member {name} (simple_cnn, seed 2) failed after 1 attempt "
                                    "(its worker or node died)")
    assert failing["files"] == []  # nothing of it was written, not even a partial file
