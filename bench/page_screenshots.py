"""Screenshots of the web page after it read a phone photo of a sheet on a desk.

    .venv/bin/python bench/page_screenshots.py --model outputs/models/best.keras

Starts `digit-recognizer serve` on 127.0.0.1 (a free port), makes a desk photo with
`picture_makers.desk_photo` (seeded; digits from the sample's unseen test rows), uploads it in
headless Chromium (Debian's, by path) at desktop width (1280x800) and at a phone's (390x844),
and saves each page once the reading shows: bench/figures/serve_desk_photo.png and
serve_desk_photo_phone.png. Prints what the page read and the contrast of its small print.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from digit_recognizer.datasets import data, reference
from digit_recognizer.reading_checks import picture_makers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the contrast measure lives with the tests

from page_contrast import CONTRAST  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZES = {"serve_desk_photo.png": {"width": 1280, "height": 800},
         "serve_desk_photo_phone.png": {"width": 390, "height": 844}}
def desk_photo(path: Path, seed: int) -> str:
    folder = data.sample_dir()
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    labels = data.read_answer_key(folder / "answer_key.csv.gz")
    rows = np.random.default_rng(seed).permutation(reference.unseen_sample_rows())
    [photo] = picture_makers.render_desk_photos(test[rows], labels[rows], 1, seed)
    photo.picture.save(path, quality=88)
    return photo.number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "outputs" / "models" / "best.keras"))
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--out", default=str(ROOT / "bench" / "figures"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="screens-"))
    written = desk_photo(work / "desk.jpg", args.seed)
    server = subprocess.Popen([sys.executable, "-m", "digit_recognizer.cli", "serve", "--model",
                               args.model, "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the demo server did not start") from None
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, viewport in SIZES.items():
                page = browser.new_page(viewport=viewport)
                page.set_default_timeout(60_000)
                page.goto(url)
                page.wait_for_selector("#reading .dr-hint")
                print(f"{name}: hint contrast "
                      f"{page.evaluate(CONTRAST, '#reading .dr-hint'):.1f}:1")
                page.get_by_role("tab", name="Upload or webcam").click()
                page.locator("#photo input[type=file]").set_input_files(str(work / "desk.jpg"))
                page.wait_for_selector("#reading .dr-number, #reading .dr-error")
                page.wait_for_timeout(1000)  # the page fades the reading in
                shown = page.locator("#reading .dr-number, #reading .dr-error").inner_text()
                caption = page.evaluate(CONTRAST, "#reading .dr-caption") \
                    if page.locator("#reading .dr-caption").count() else float("nan")
                print(f"{name}: written {written}, the page reads {shown!r}; caption contrast "
                      f"{caption:.1f}:1")
                page.screenshot(path=str(Path(args.out) / name), full_page=True)
                page.close()
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
