"""What the Ray executor costs over `local`: a 4-member quick ensemble on the embedded sample.

    .venv/bin/python bench/ray_overhead.py            # about 5 minutes on 2 cores

It re-runs itself in a network namespace of its own where only loopback is up (so the Ray
cluster it starts listens on 127.0.0.1 only), trains the same 4 members with `local`, then on a
one-node Ray cluster on this machine (`ray start --head`) with 2 CPUs per member (one at a
time, identical results) and with 1 CPU per member (two at a time), and writes
bench/results/ray_overhead.json.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "ray_overhead.json"
COMMAND = ".venv/bin/python bench/ray_overhead.py"
RAY = str(Path(sys.executable).parent / "ray")
ADDRESS = "127.0.0.1:6379"


def sample_split(path: Path) -> Path:
    from digit_recognizer.datasets import data, preprocess

    folder = data.sample_dir()
    images, labels = data.read_digits_csv(folder / "train.csv.gz", labelled=True)
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    train, val = preprocess.stratified_split(labels, 0.1, seed=42)
    x, y = preprocess.normalise(images), preprocess.one_hot(labels)
    split = preprocess.Split(x[train], y[train], x[val], y[val], preprocess.normalise(test),
                             data.read_answer_key(folder / "answer_key.csv.gz"))
    return preprocess.save_split(path, split)


def timed(run) -> tuple[float, list]:
    start = time.perf_counter()
    results = run()
    return round(time.perf_counter() - start, 1), results


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory),
            "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}


def main() -> None:
    import keras
    import ray
    import tensorflow as tf

    from digit_recognizer.learning import executors, members, recipes

    ensemble = members.of_models("simple_cnn", range(4), profile="quick")
    folder = Path(tempfile.mkdtemp(prefix="dr-bench-"))
    report = {"command": COMMAND, "machine": machine(),
              "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                           "keras": keras.__version__, "ray": ray.__version__},
              "members": f"4 x simple_cnn, quick profile "
                         f"({recipes.recipe('simple_cnn', 'quick').epochs} epochs), seeds 0-3",
              "data": "the embedded sample, 10% of it for validation"}
    try:
        split = sample_split(folder / "split.npz")
        val_labels = np.load(split)["y_val"].argmax(1)
        report["data"] += f" ({len(val_labels)} rows), 2,000 test rows"
        local_s, local = timed(lambda: executors.run_members(ensemble, split))
        print(f"local: {local_s} s", file=sys.stderr)
        for _ in range(3):  # a busy machine can make the head miss Ray's 30 s start-up limit
            start = time.perf_counter()
            head = subprocess.run([RAY, "start", "--head", "--num-cpus=2",
                                   "--include-dashboard=false", "--disable-usage-stats",
                                   f"--temp-dir={folder / 'ray'}"], capture_output=True)
            start_s = round(time.perf_counter() - start, 1)
            if head.returncode == 0:
                break
            subprocess.run([RAY, "stop", "--force"], capture_output=True)
        else:
            raise RuntimeError(f"ray start --head failed: {head.stderr.decode()[-2000:]}")
        ray2_s, ray2 = timed(lambda: executors.run_members(ensemble, split, "ray", ADDRESS))
        print(f"head: {start_s} s, ray with 2 CPUs a member: {ray2_s} s", file=sys.stderr)
        ray1_s, ray1 = timed(lambda: executors.run_members(ensemble, split, "ray", ADDRESS,
                                                            cpus_per_member=1))
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)

    def differences(results) -> list[float]:  # per member: the largest probability difference
        return [float(max(abs(a.val_probs - b.val_probs).max(),
                          abs(a.test_probs - b.test_probs).max()))
                for a, b in zip(local, results, strict=True)]

    report["seconds"] = {
        "local": local_s,
        "ray_start_head": start_s,
        "ray_2_cpus_per_member": ray2_s,
        "ray_1_cpu_per_member": ray1_s,
    }
    report["overhead_vs_local"] = {
        "ray_2_cpus_per_member": f"{ray2_s - local_s:+.1f} s ({ray2_s / local_s - 1:+.0%})",
        "ray_1_cpu_per_member": f"{ray1_s - local_s:+.1f} s ({ray1_s / local_s - 1:+.0%})",
    }
    report["largest_difference_from_local"] = {"ray_2_cpus_per_member": differences(ray2),
                                               "ray_1_cpu_per_member": differences(ray1)}
    report["ensemble_val_accuracy"] = float(np.mean(
        members.average(local)[0].argmax(1) == val_labels))
    report["machine"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if "--inside" in sys.argv:
        # Loopback only, so no token; and whatever ~/.ray/auth_token holds has no say.
        os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
        main()
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        script = f"ip link set lo up && {sys.executable} {Path(__file__).resolve()} --inside"
        sys.exit(subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc",
                                 "--kill-child", "sh", "-c", script], cwd=ROOT).returncode)
