"""The web demo (`digit-recognizer serve`): its answers, then the page in a real browser.

The browser tests start the server on 127.0.0.1 with a small CNN trained on the sample, drive
Debian's Chromium with Playwright (no browser download: launched by executable path), draw real
MNIST test digits as mouse strokes on the canvas, upload pictures and bad files, and read what
the page shows. They stop the server by its process id.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import fake_camera
import numpy as np
import pytest
import strokes
from conftest import ROOT, run_cli
from page_contrast import CONTRAST
from PIL import Image
from test_images import _png_header_only
from test_packaging import pins

from digit_recognizer.datasets import data
from digit_recognizer.demo import page as demo
from digit_recognizer.reading import images, predict

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = ROOT / "outputs" / "demo" / "page.png"
PHONE_SCREENSHOT = ROOT / "outputs" / "demo" / "page_phone.png"
PHONE = {"width": 390, "height": 844}
CAMERA_NUMBER = "2024"  # mirrored, it reads as something else (7505 in issue 23)
MIN_DRAWN = 8  # of the 10 drawn digits, at least this many must be read right


class FakeModel:
    """Stands in for a Keras model: answers `digit` for every input, and counts the calls."""

    input_shape = (None, 28, 28, 1)

    def __init__(self, digit: int = 7):
        self.digit = digit
        self.inputs: list[np.ndarray] = []

    def predict_on_batch(self, x):
        self.inputs.append(np.asarray(x))
        probs = np.full((len(x), 10), 0.01)
        probs[:, self.digit] = 0.91
        return probs


def canvas_drawing(number: str, test, labels) -> Image.Image:
    """What the canvas sends for `number` drawn with real MNIST test digits: black strokes on
    a transparent background, RGBA, at the canvas's size."""
    paths = []
    for char, (left, top, side) in zip(number, strokes.boxes(len(number), *demo.CANVAS_SIZE),
                                       strict=True):
        paths += strokes.place(strokes.strokes(_example(char, test, labels)), left, top, side)
    return strokes.render(paths, demo.CANVAS_SIZE, 2 * demo.BRUSH_RADIUS)


def _example(char: str, test, labels) -> np.ndarray:
    """The sample's first test digit of that class (the first ones the README shows)."""
    return test[int(np.flatnonzero(labels == int(char))[0])]


@pytest.fixture(scope="module")
def sample():
    folder = data.sample_dir()
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    return test, data.read_answer_key(folder / "answer_key.csv.gz")


# --------------------------------------------------------------------------- the answers


def test_a_drawing_on_a_transparent_canvas_is_split_into_digits(sample):
    """Strokes arrive dark on a transparent background; the model gets MNIST-style inputs,
    bright ink on black, one per digit, as `predict` prepares them."""
    model = FakeModel(7)
    reader = demo.Reader(model)
    drawing = canvas_drawing("4096", *sample)
    assert drawing.mode == "RGBA" and drawing.getextrema()[3] == (0, 255)
    page = reader.read_drawing({"background": None, "layers": [], "composite": drawing})
    assert 'data-testid="reading-number">7777<' in page
    [inputs] = model.inputs  # one call: each digit as it is, then shifted (predict.SHIFTS)
    assert inputs.shape == (4 * len(predict.SHIFTS), 28, 28, 1)
    expected = images.prepare(drawing).inputs  # the one code path: images.prepare
    as_is = inputs[::len(predict.SHIFTS), ..., 0]
    np.testing.assert_array_equal(np.round(as_is * 255).astype(np.uint8), expected)
    for digit in expected:  # bright ink on black, centred
        assert digit[0].max() == 0 and digit[:, 0].max() == 0 and digit.max() == 255
    assert page.count('class="dr-digit"') == 4 and page.count("<img") == 4
    assert page.count('class="dr-label') == 12  # top-3 per digit


def test_bad_input_is_one_line_in_the_page(tmp_path):
    model = FakeModel()
    reader = demo.Reader(model)
    (tmp_path / "notes.png").write_text("shopping list\n")
    (tmp_path / "bomb.png").write_bytes(_png_header_only(20_000, 20_000))
    Image.fromarray(np.full((200, 300), 245, np.uint8)).save(tmp_path / "blank.png")
    empty = Image.new("RGBA", demo.CANVAS_SIZE, (0, 0, 0, 0))
    cases = [
        (reader.read_drawing(None), "The canvas is empty"),
        (reader.read_drawing({"background": None, "layers": [], "composite": None}),
         "The canvas is empty"),
        (reader.read_drawing({"background": None, "layers": [], "composite": empty}),
         "The canvas is empty"),
        (reader.read_upload(None), "No picture yet"),
        (reader.read_upload({"path": None, "url": None}), "No picture yet"),
        (reader.read_upload(str(tmp_path / "notes.png")),
         "notes.png: not an image (expected a PNG, JPEG, BMP or TIFF file)"),
        # What the page sends: the upload's file data, with the path of the server's copy.
        (reader.read_upload({"path": str(tmp_path / "notes.png"), "orig_name": "notes.png",
                             "meta": {"_type": "gradio.FileData"}}),
         "notes.png: not an image (expected a PNG, JPEG, BMP or TIFF file)"),
        (reader.read_upload({"path": None, "url": "data:image/png;base64,c2hvcHBpbmc="}),
         "photo: not an image (expected a PNG, JPEG, BMP or TIFF file)"),
        (reader.read_upload(str(tmp_path / "bomb.png")),
         "bomb.png: image is too large to decode safely: over 179 megapixels; pictures of up "
         "to 89 megapixels are read: downscale it first"),
        (reader.read_upload(str(tmp_path / "blank.png")), "blank.png: no digit found"),
    ]
    for page, message in cases:
        assert '<div class="dr-error"' in page and "dr-number" not in page, page
        assert f">{message}" in page, page
        assert str(tmp_path) not in page  # the server's copy of a file is not shown
        assert "Traceback" not in page and "bomb" not in page.replace("bomb.png", "")
    assert model.inputs == []  # none of them reached the model


def test_what_the_browser_refuses_is_one_line_in_the_page_s_words():
    """Problems met in the browser (PAGE_CHECKS) come back worded by the server."""
    reader = demo.Reader(FakeModel())
    cases = [
        (["not-an-image", "notes.txt"], "notes.txt: not an image (expected a PNG, JPEG"),
        (["too-heavy", "heavy.png"], "heavy.png: the file is over 20 MB"),
        (["camera", "NotFoundError"], "No camera found"),
        (["camera", "NotAllowedError"], "The page may not use the camera"),
        (["camera", "NotReadableError"], "The camera is in use by another program"),
        (["camera", "unsupported"], "This browser offers no camera to the page"),
        (["camera", "WeirdError"], "The camera could not be opened (WeirdError)"),
        (["camera", "<b>"], "The camera could not be opened (&lt;b&gt;)"),
        (["nonsense"], "The page met a problem it cannot name (nonsense)"),
        ("not a list", "The page met a problem it cannot name ()"),
    ]
    page_problem = demo._page_problem(reader)
    answers = set()
    for args, message in cases:
        page = page_problem(args)
        assert '<div class="dr-error"' in page and f">{message}" in page, page
        answers.add(page.split('data-answer="')[1].split('"')[0])
    assert len(answers) == len(cases)  # each answer is new to the page


def test_a_failing_model_is_one_line_too(capsys):
    class Broken(FakeModel):
        def predict_on_batch(self, x):
            raise RuntimeError("out of memory")

    page = demo.Reader(Broken()).read_upload(str(images.example_images()[0]))
    assert '<div class="dr-error"' in page
    assert "could not read this picture (RuntimeError)" in page
    assert "RuntimeError: out of memory" in capsys.readouterr().err  # the server's log


def test_the_server_keeps_few_sessions():
    """Every API call is a new Gradio session, whose state (~30 KB) Gradio keeps for its last
    10,000 sessions unless told otherwise: the memory soak grew ~33 MB per 1000 readings."""

    class App:
        def queue(self, **kwargs):
            pass

        def launch(self, **kwargs):
            self.kwargs = kwargs

    app = demo.launch(App())
    assert app.kwargs["state_session_capacity"] == demo.STATE_SESSIONS <= 1000


def test_serve_without_a_model_says_how_to_get_one(tmp_path):
    result = run_cli("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no trained model at outputs/models/best.keras")
    assert "Traceback" not in result.stderr
    help_text = run_cli("serve", "--help").stdout
    for option in ("--model", "--host", "--port", "127.0.0.1", "7860"):
        assert option in help_text


def test_the_spaces_entry_point(tmp_path):
    """app.py (what a Hugging Face Space runs) starts the same demo, from a checkout."""
    result = subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True,
                            text=True, cwd=tmp_path,
                            env={**os.environ, "DIGIT_MODEL": "nowhere.keras"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: nowhere.keras: model file not found")
    assert "Traceback" not in result.stderr
    # The Space's requirements are pinned as ours are.
    space = pins((ROOT / "spaces" / "requirements.txt").read_text())
    assert space and space.items() <= pins((ROOT / "requirements.txt").read_text()).items()


# --------------------------------------------------------------------------- in a browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(model_path, tmp_path_factory):
    """`digit-recognizer serve` on 127.0.0.1, as a user starts it; stopped by its pid."""
    folder = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "2",
           "GRADIO_TEMP_DIR": str(folder / "uploads"), "HF_HUB_OFFLINE": "1"}
    log_path = folder / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "digit_recognizer.cli", "serve", "--model", str(model_path),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while f"at {url}" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                break
            except OSError:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        yield url, process, log_path
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(sample, tmp_path_factory):
    """One Chromium for the module, whose camera (Chromium's fake device) films a photo of
    CAMERA_NUMBER handwritten (tests/fake_camera.py). A page may use it once its context is
    given the camera permission."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    film = fake_camera.write_y4m(
        fake_camera.frame([_example(char, *sample) for char in CAMERA_NUMBER]),
        tmp_path_factory.mktemp("camera") / "number.y4m")
    camera = ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={film}"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS + camera)
        try:
            yield browser
        finally:
            browser.close()


def _open(browser, url: str, viewport: dict, camera: bool = True):
    """A tab on the page, in a context of its own (camera allowed or refused)."""
    context = browser.new_context(viewport=viewport, permissions=["camera"] if camera else [])
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(url)
    tab.wait_for_selector("#canvas canvas")
    # The page picks the brush by itself (its button is hidden), so a visitor can draw at once.
    tab.wait_for_selector('#canvas button[aria-label="Brush"].highlight', state="attached")
    return tab


@pytest.fixture(scope="module")
def page(server, browser):
    tab = _open(browser, server[0], {"width": 1280, "height": 720})
    yield tab
    tab.context.close()


def _draw(page, number: str, test, labels) -> None:
    """Drag the mouse along the strokes of real MNIST test digits on the canvas."""
    page.click("#clear")
    page.wait_for_selector("#reading .dr-hint")
    # Clearing unpicks Gradio's brush; the page picks it again.
    page.wait_for_selector('#canvas button[aria-label="Brush"].highlight', state="attached")
    x0, y0, width, height = _drawing_area(page)
    mouse = page.mouse
    for char, (left, top, side) in zip(number, strokes.boxes(len(number), width, height),
                                       strict=True):
        for path in strokes.place(strokes.strokes(_example(char, test, labels)),
                                  x0 + left, y0 + top, side):
            mouse.move(*path[0])
            mouse.down()
            for x, y in path[1:]:
                mouse.move(x, y)
            mouse.up()


def _drawing_area(page) -> tuple[float, float, float, float]:
    """(left, top, width, height) of the drawing area on the screen: centred in the canvas
    element at Gradio's zoom (its hidden zoom number, e.g. "95%")."""
    box = page.locator("#canvas canvas").first.bounding_box()
    scale = float(page.locator("#canvas .zoom-number").text_content().strip(" %")) / 100
    width, height = scale * demo.CANVAS_SIZE[0], scale * demo.CANVAS_SIZE[1]
    return (box["x"] + (box["width"] - width) / 2, box["y"] + (box["height"] - height) / 2,
            width, height)


def _reading(page, action=None) -> str:
    """Press Read (or do `action`), wait for the new answer and return its number or error."""
    answer = "#reading .dr-answer"
    before = page.get_attribute(answer, "data-answer") if page.locator(answer).count() else None
    if action is None:
        page.click("#read")
    else:
        action()
    page.wait_for_function(
        "before => { const a = document.querySelector('#reading .dr-answer');"
        " return a && a.dataset.answer !== before; }", arg=before)
    return page.inner_text("#reading .dr-number, #reading .dr-error").strip()


def _upload(page, path) -> None:
    page.locator("#photo input[type=file]").set_input_files(str(path))


@pytest.mark.slow
def test_drawn_digits_are_read(page, sample):
    """One real MNIST test digit per class, drawn as mouse strokes; most are read right."""
    test, labels = sample
    read = {}
    for digit in "0123456789":
        _draw(page, digit, test, labels)
        read[digit] = _reading(page)
        # The page shows the 28x28 input the model saw, and its top-3 as bars.
        assert page.locator("#reading .dr-digit img").count() == 1
        assert page.locator("#reading .dr-bars .dr-label").count() == 3
    print("drawn digits read as:", read)
    assert sum(shown == digit for digit, shown in read.items()) >= MIN_DRAWN, read


@pytest.mark.slow
def test_a_drawn_number_is_split_and_the_page_is_saved(page, sample):
    test, labels = sample
    _draw(page, "4096", test, labels)
    assert _reading(page) == "4096"
    assert page.locator("#reading .dr-digit img").count() == 4
    # The small print under the number, and the webcam tips, are readable: WCAG AA's 4.5:1.
    page.get_by_role("tab", name="Upload or webcam").click()
    for small_print in ("#reading .dr-caption", "#photo-tips p"):
        assert page.evaluate(CONTRAST, small_print) >= 4.5, small_print
    page.get_by_role("tab", name="Draw").click()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1000)  # the page fades the new reading in
    page.screenshot(path=str(SCREENSHOT))
    print(f"screenshot: {SCREENSHOT}")
    with Image.open(SCREENSHOT) as shot:
        assert shot.size == (1280, 720)


@pytest.mark.slow
def test_an_uploaded_photo_is_read(page):
    page.get_by_role("tab", name="Upload or webcam").click()
    photo = str(images.example_dir() / "year_1969.jpg")
    # Read on upload, no click needed.
    assert _reading(page, lambda: _upload(page, photo)) == "1969"
    assert page.locator("#reading .dr-digit").count() == 4


@pytest.mark.slow
def test_bad_input_is_answered_in_the_page_and_the_server_goes_on(page, server, sample,
                                                                  tmp_path):
    _, process, log_path = server
    notes = tmp_path / "notes.png"
    notes.write_text("shopping list\n")
    bomb = tmp_path / "huge.png"
    bomb.write_bytes(_png_header_only(20_000, 20_000))
    page.get_by_role("tab", name="Upload or webcam").click()
    text = tmp_path / "notes.txt"
    text.write_text("shopping list\n")
    heavy = tmp_path / "heavy.png"
    with open(heavy, "wb") as out:
        out.truncate(21 * 2**20)
    # Refused by the server (notes.png, huge.png) or by the page before it is sent (a file
    # whose type is not an image's, a file over the size limit): each time one message, the
    # current one, in the page's words; none of Gradio's pop-ups.
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path, message in ((notes, "notes.png: not an image"),
                          (bomb, "huge.png: image is too large to decode safely: over 179 "
                                 "megapixels; pictures of up to 89 megapixels are read"),
                          (empty, "empty.png: the file is empty (0 bytes)"),
                          (text, "notes.txt: not an image (expected a PNG"),
                          (heavy, "heavy.png: the file is over 20 MB")):
        assert _reading(page, lambda path=path: _upload(page, path)).startswith(message)
        assert page.locator("#reading .dr-error").count() == 1
        assert page.locator(".toast-body").count() == 0
        # The upload box is empty again, its drop zone back, with no broken preview.
        page.get_by_text("Drop Image Here").wait_for()
        assert page.locator("#photo img").count() == 0
    page.get_by_role("tab", name="Draw").click()
    page.click("#clear")
    page.wait_for_selector("#reading .dr-hint")
    assert _reading(page).startswith("The canvas is empty")
    # Still serving: one more drawing is read.
    test, labels = sample
    _draw(page, "7", test, labels)
    assert _reading(page) == "7"
    assert process.poll() is None
    assert "Traceback" not in log_path.read_text()



@pytest.mark.slow
def test_a_webcam_snapshot_is_read_as_the_camera_sees_it(page):
    """The fake camera films CAMERA_NUMBER; a mirrored snapshot would read otherwise."""
    page.get_by_role("tab", name="Upload or webcam").click()
    page.click('#photo button[aria-label="Capture from camera"]')
    page.get_by_text("Click to Access Webcam").click()
    # A capture before the stream's first frame takes no picture (on a busy host it can take
    # seconds to start), so wait for the video to show one.
    page.wait_for_function("() => { const v = document.querySelector('#photo video');"
                           " return v && v.readyState >= 2 && v.videoWidth > 0; }")
    snap = page.locator('#photo button[aria-label="capture photo"]')
    assert _reading(page, snap.click) == CAMERA_NUMBER  # read on capture, no click needed
    page.click('#photo button[aria-label="Upload file"]')


@pytest.mark.slow
def test_a_camera_the_page_may_not_use_is_said_in_the_page(browser, server):
    """Camera access refused (this tab's context lacks the permission): one line says so and
    what to do, where Gradio showed nothing (an uncaught error in the console)."""
    tab = _open(browser, server[0], {"width": 1280, "height": 720}, camera=False)
    uncaught = []
    tab.on("pageerror", lambda error: uncaught.append(error))
    try:
        tab.get_by_role("tab", name="Upload or webcam").click()
        tab.click('#photo button[aria-label="Capture from camera"]')
        message = _reading(tab, tab.get_by_text("Click to Access Webcam").click)
        assert message.startswith("The page may not use the camera: allow it")
        assert tab.locator("#reading .dr-error").is_visible()
        assert uncaught == []
    finally:
        tab.context.close()


@pytest.mark.slow
def test_on_a_phone_the_canvas_fills_the_width_and_the_reading_shows(browser, server,
                                                                     sample):
    """At 390x844: the drawing area takes most of the width, no tool covers it, and a
    reading shows without scrolling. The page is saved as PHONE_SCREENSHOT."""
    tab = _open(browser, server[0], PHONE)
    try:
        canvas = tab.locator("#canvas").bounding_box()
        left, top, width, height = _drawing_area(tab)
        assert canvas["width"] >= 0.9 * PHONE["width"]
        assert width >= 0.75 * PHONE["width"]
        assert width * height >= 0.55 * canvas["width"] * canvas["height"]  # not mostly empty
        for tool in tab.locator("#canvas button, #canvas label").all():
            box = tool.bounding_box()  # None for a hidden one
            if box is None:
                continue
            apart = (box["x"] + box["width"] <= left or box["x"] >= left + width
                     or box["y"] + box["height"] <= top or box["y"] >= top + height)
            assert apart, (tool.get_attribute("aria-label"), box, (left, top, width, height))
        _draw(tab, "7", *sample)
        assert _reading(tab) == "7"
        number = tab.locator("#reading .dr-number").bounding_box()
        assert tab.evaluate("window.scrollY") == 0
        assert number["y"] >= 0 and number["y"] + number["height"] <= PHONE["height"]
        tab.wait_for_timeout(1000)  # the page fades the new reading in
        tab.screenshot(path=str(PHONE_SCREENSHOT))
        print(f"screenshot: {PHONE_SCREENSHOT}")
    finally:
        tab.context.close()
