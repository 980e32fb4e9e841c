"""Latency of the web demo: from a client's request to the reading, with 1 and 8 clients.

    .venv/bin/python bench/serve_latency.py [--model PATH] [--requests 200] [--clients 1 8]

Starts `digit-recognizer serve` on 127.0.0.1 (a free port), then clients send drawings as the
page's canvas sends them: strokes of real MNIST test digits (tests/strokes.py), black on a
transparent 480x240 canvas, as PNG. A client speaks Gradio's HTTP API as the page does: upload
the picture, join the queue, read the result from an event stream (with httpx and one
connection per client; gradio_client would add up to 50 ms of its own, it polls every 50 ms).
Each request is timed from the upload to the reading: the upload, the queue, the preparation,
the model and the page's HTML. The server's own share (preparation and model,
"read in N ms" in the page) is reported beside it. p50 and p95 over --requests requests per
client count, after 10 unmeasured warm-up requests. Writes bench/results/serve_latency.json.

    .venv/bin/python bench/serve_latency.py --soak 3000 [--every 100]

A memory soak instead: N readings in a row by one client, drawings of numbers of 1 to 4
digits in turn (so every batch shape the page meets most), with the server's resident memory
(RSS, psutil) before the first and after every --every readings. It levels off when, over the
second half of the readings, it grows by less than 5 MB per 1000 readings (least-squares
slope). Writes bench/results/serve_soak.json.

Without --model it reads with outputs/models/best.keras when there is one, else with the
pipeline's best architecture (the `augmentation` stage's batch-normalised CNN) untrained. An
untrained model reads no digit ("no digit found", counted as errors), so measure with a
trained one.

A benchmark, not a test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the stroke tracer lives with the tests

import strokes  # noqa: E402

from digit_recognizer.datasets import data  # noqa: E402
from digit_recognizer.demo import page as demo  # noqa: E402

WARM_UP = 10
TARGETS = {"p50_ms": 100, "p95_ms": 300}  # for one client (issue #14)
LEVEL_MB = 5.0  # memory "levels off" when it grows by less than this per 1000 readings
SOAK_DIGITS = (1, 2, 3, 4)  # the soak's drawings: numbers of 1 to 4 digits, in turn


def drawings(folder: Path, count: int = 20, digits: int = 1) -> list[Path]:
    """PNGs of numbers of `digits` digits drawn on the canvas: the sample's first test
    digits, in turn."""
    test, _ = data.read_digits_csv(data.sample_dir() / "test.csv.gz", labelled=False)
    boxes = strokes.boxes(digits, *demo.CANVAS_SIZE)
    paths = []
    for i in range(count):
        lines = []
        for j, (left, top, side) in enumerate(boxes):
            lines += strokes.place(strokes.strokes(test[i * digits + j]), left, top, side)
        picture = strokes.render(lines, demo.CANVAS_SIZE, 2 * demo.BRUSH_RADIUS)
        path = folder / f"drawing_{digits}_{i}.png"
        picture.save(path)
        paths.append(path)
    return paths


def default_model(folder: Path) -> tuple[Path, str]:
    best = ROOT / "outputs" / "models" / "best.keras"
    if best.is_file():
        return best, str(best.relative_to(ROOT))
    from digit_recognizer.learning import models

    path = folder / "augmentation_untrained.keras"
    models.of("augmentation", seed=0).save(path)
    return path, "the augmentation stage's CNN (models.batchnorm_cnn), untrained"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "2",
           "GRADIO_TEMP_DIR": str(log.parent / "uploads")}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "digit_recognizer.cli", "serve", "--model", str(model),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while f"127.0.0.1:{port}/" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"the server did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return process


def read_drawing(http, url: str, picture: bytes) -> str:
    """One reading through Gradio's HTTP API (what its "Use via API" page shows for curl):
    upload the picture, call /read_drawing, and wait for the result on its event stream."""
    uploaded = http.post(f"{url}gradio_api/upload",
                         files={"files": ("drawing.png", picture, "image/png")})
    uploaded.raise_for_status()
    composite = {"path": uploaded.json()[0], "orig_name": "drawing.png",
                 "meta": {"_type": "gradio.FileData"}}
    call = http.post(f"{url}gradio_api/call/read_drawing",
                     json={"data": [{"background": None, "layers": [],
                                     "composite": composite}]})
    call.raise_for_status()
    event = call.json()["event_id"]
    with http.stream("GET", f"{url}gradio_api/call/read_drawing/{event}") as stream:
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: ") and kind in ("complete", "error"):
                if kind == "error":
                    raise RuntimeError(f"the server answered an error: {line}")
                return json.loads(line[len("data: "):])[0]
    raise RuntimeError("the event stream ended without a result")


def run(url: str, pictures: list[bytes], clients: int, requests: int) -> dict:
    """`requests` readings spread over `clients` concurrent clients; latencies in ms."""
    import httpx

    per_client = -(-requests // clients)
    connections = [httpx.Client(timeout=60) for _ in range(clients)]
    latencies: list[float] = []
    server: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_line = threading.Barrier(clients)

    def client(index: int) -> None:
        http = connections[index]
        start_line.wait()
        for i in range(per_client):
            picture = pictures[(index * per_client + i) % len(pictures)]
            start = time.perf_counter()
            page = read_drawing(http, url, picture)
            elapsed = 1000 * (time.perf_counter() - start)
            found = re.search(r"read in (\d+) ms", page)
            with lock:
                latencies.append(elapsed)
                if found:
                    server.append(float(found.group(1)))
                else:
                    errors.append(page[:200])

    for http in connections:  # warm-up (connections, first calls), not measured
        for i in range(max(1, WARM_UP // clients)):
            read_drawing(http, url, pictures[i % len(pictures)])
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    for http in connections:
        http.close()
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "max_ms": round(max(latencies), 1),
        "server_p50_ms": round(float(np.percentile(server, 50)), 1) if server else None,
        "server_p95_ms": round(float(np.percentile(server, 95)), 1) if server else None,
        "throughput_per_s": round(len(latencies) / wall, 1),
    }


def soak(url: str, pictures: list[bytes], pid: int, readings: int, every: int) -> dict:
    """`readings` readings in a row (one client) with the server's memory (RSS, MB) after
    every `every` of them; whether it levels off: over the second half of the readings it
    grows by less than LEVEL_MB per 1000 readings (a least-squares slope)."""
    import httpx
    import psutil

    server = psutil.Process(pid)

    def rss_mb() -> float:
        return round(server.memory_info().rss / 2**20, 1)

    series = [{"readings": 0, "rss_mb": rss_mb()}]
    errors = 0
    with httpx.Client(timeout=60) as http:
        for i in range(1, readings + 1):
            page = read_drawing(http, url, pictures[i % len(pictures)])
            errors += "read in" not in page
            if i % every == 0:
                series.append({"readings": i, "rss_mb": rss_mb()})
    second_half = [point for point in series if point["readings"] >= readings / 2]
    slope = float(np.polyfit([p["readings"] for p in second_half],
                             [p["rss_mb"] for p in second_half], 1)[0]) * 1000
    return {
        "readings": readings,
        "errors": errors,
        "rss_start_mb": series[0]["rss_mb"],
        "rss_end_mb": series[-1]["rss_mb"],
        "rss_max_mb": max(p["rss_mb"] for p in series),
        "second_half_growth_mb_per_1000": round(slope, 2),
        "levels_off": slope < LEVEL_MB,
        "level_mb_per_1000": LEVEL_MB,
        "series": series,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a .keras model (default: see above)")
    parser.add_argument("--requests", type=int, default=200,
                        help="measured requests per client count (default: %(default)s)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8],
                        help="concurrent client counts (default: 1 8)")
    parser.add_argument("--soak", type=int, metavar="N",
                        help="instead: N readings in a row (numbers of 1 to 4 digits) with "
                        "the server's memory (RSS) every --every readings; writes "
                        "bench/results/serve_soak.json")
    parser.add_argument("--every", type=int, default=100,
                        help="with --soak: readings between memory samples "
                        "(default: %(default)s)")
    parser.add_argument("--out", type=Path, help="the JSON written (default: see above)")
    args = parser.parse_args(argv)
    name = "serve_soak.json" if args.soak else "serve_latency.json"
    args.out = args.out or ROOT / "bench" / "results" / name

    import gradio
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model, model_name = (args.model, str(args.model)) if args.model else \
            default_model(folder)
        if args.soak:
            sets = [drawings(folder, 5, digits) for digits in SOAK_DIGITS]
            pictures = [path.read_bytes() for group in zip(*sets, strict=True)
                        for path in group]
        else:
            pictures = [path.read_bytes() for path in drawings(folder)]
        port = free_port()
        load_before = os.getloadavg()
        process = start_server(model, port, folder / "serve.log")
        try:
            url = f"http://127.0.0.1:{port}/"
            results = []
            if args.soak:
                result = soak(url, pictures, process.pid, args.soak, args.every)
                results.append(result)
                print(f"{result['readings']} readings: RSS {result['rss_start_mb']} -> "
                      f"{result['rss_end_mb']} MB (max {result['rss_max_mb']}), second half "
                      f"{result['second_half_growth_mb_per_1000']} MB per 1000 readings: "
                      f"{'levels off' if result['levels_off'] else 'still growing'}, "
                      f"{result['errors']} errors", flush=True)
            for clients in [] if args.soak else args.clients:
                result = run(url, pictures, clients, args.requests)
                results.append(result)
                print(f"{clients} client(s): p50 {result['p50_ms']} ms, p95 "
                      f"{result['p95_ms']} ms (server {result['server_p50_ms']} / "
                      f"{result['server_p95_ms']} ms), {result['throughput_per_s']} "
                      f"readings/s, {result['errors']} errors", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)
    document = {
        "command": " ".join(["python", "bench/serve_latency.py",
                             *(argv if argv is not None else sys.argv[1:])]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "versions": {"gradio": gradio.__version__, "httpx": httpx.__version__},
        "model": model_name,
        "input": f"{'numbers of 1 to 4' if args.soak else 'single'} MNIST test digits drawn "
                 f"as strokes on a {demo.CANVAS_SIZE[0]}x{demo.CANVAS_SIZE[1]} transparent "
                 "canvas, PNG, through /read_drawing",
        "targets_one_client": TARGETS,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
