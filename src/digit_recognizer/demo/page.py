"""The web demo: draw a digit (or a number) in the browser, or upload a photo, and see the reading.

    digit-recognizer serve [--model PATH] [--host 127.0.0.1] [--port 7860]

A Gradio page with a drawing canvas and an upload/webcam input. Every picture goes through the
same preparation as `digit-recognizer predict` (`images.prepare`: grayscale, ink found and split
into digits, each scaled and centred MNIST-style) and the same model call
(`predict.read_prepared`); the page shows the number, each digit's top-3 probabilities as bars,
and the 28x28 inputs the model saw. Bad input (an empty canvas, a file that is not a picture, a
huge picture, a picture with no digit) is answered with one line in the page; the server goes
on.

The model loads once, at start. Gradio and TensorFlow are imported only when the app is built.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import os
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
from PIL import Image

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.reading import calibration, images, predict

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# The drawing area, in canvas pixels: room for a number. The page shows it at this size or
# smaller; a larger canvas is slower to draw on where the browser renders in software.
CANVAS_SIZE = (480, 240)  # width, height
CANVAS_BOX = (520, 300)  # the component's size on the page, toolbar and margins included
BRUSH_RADIUS = 7  # a felt-tip marker on this canvas; thinner strokes are thickened anyway
MAX_UPLOAD_MB = 20  # the page refuses bigger files; images.open_image refuses more pixels
MAX_UPLOAD = f"{MAX_UPLOAD_MB}mb"  # Gradio's limit on the server (a megabyte is 2**20 bytes)
# Gradio keeps a session's state (a copy of the page's config, ~30 KB here) for its last 10,000
# sessions, and every API call (gradio_api/call/...) without a session hash is a new session:
# the server's memory grew ~33 MB per 1000 readings. The page keeps no gr.State, so a session
# that is dropped costs nothing: a visitor's next reading starts a fresh one.
STATE_SESSIONS = 200
INPUT_ZOOM = 3  # the 28x28 inputs are shown at 84x84, pixels kept square
TITLE = "Draw a digit"

EMPTY_CANVAS = "The canvas is empty: draw a digit (or a number) with the mouse or a finger first."
NO_PICTURE = "No picture yet: upload a photo of a few handwritten digits, or take one."
# What the page itself refuses, before anything is sent (see PAGE_CHECKS), keyed by problem.
NOT_A_PICTURE = "{name}: not an image (expected a " + images.FORMATS + " file)"
EMPTY_FILE = "{name}: the file is empty (0 bytes): send the picture again"
TOO_HEAVY = (f"{{name}}: the file is over {MAX_UPLOAD_MB} MB; send a smaller picture "
             "(a photo of a line of digits needs far less)")
# The browser's reasons for not opening the camera (getUserMedia's error names).
NO_CAMERA = "No camera found: connect one, or upload a photo instead."
CAMERA_REFUSED = ("The page may not use the camera: allow it in the browser's site settings "
                  "(the icon left of the address), or upload a photo instead.")
CAMERA_BUSY = "The camera is in use by another program: close it, or upload a photo instead."
CAMERA_UNAVAILABLE = ("This browser offers no camera to the page (camera access needs https or "
                      "localhost): upload a photo instead.")
CAMERA_FAILED = "The camera could not be opened ({name}): upload a photo instead."
CAMERA_PROBLEMS = {"NotFoundError": NO_CAMERA, "OverconstrainedError": NO_CAMERA,
                   "NotAllowedError": CAMERA_REFUSED, "SecurityError": CAMERA_REFUSED,
                   "NotReadableError": CAMERA_BUSY, "AbortError": CAMERA_BUSY,
                   "unsupported": CAMERA_UNAVAILABLE}

# Gradio phones home for analytics unless told not to; this server talks to nobody.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CSS = """
#reading .dr-number { font-size: 3rem; font-weight: 700; letter-spacing: 0.08em; line-height: 1.1; }
/* Small print in the body's own colour: the theme's "subdued" grey was 1.9:1 on white. */
#reading .dr-caption { color: var(--body-text-color); margin: 0.2rem 0 0.8rem; }
#reading .dr-digits { display: flex; flex-wrap: wrap; gap: 0.6rem; }
#reading .dr-digit { margin: 0; padding: 0.5rem; border: 1px solid var(--border-color-primary);
  border-radius: 8px; display: flex; flex-direction: column; gap: 0.5rem; align-items: center; }
#reading .dr-digit img { image-rendering: pixelated; width: 84px; height: 84px;
  background: black; border-radius: 4px; }
#reading .dr-bars { display: grid; grid-template-columns: 0.8em 52px 2.6em; gap: 0.2rem 0.3rem;
  align-items: center; font-variant-numeric: tabular-nums; font-size: 0.85rem; }
#reading .dr-track { height: 0.8rem; background: var(--background-fill-secondary);
  border-radius: 3px; overflow: hidden; }
#reading .dr-fill { display: block; height: 100%; background: #2563eb; }
#reading .dr-top .dr-fill { background: #ea580c; }
#reading .dr-top { font-weight: 700; }
#reading .dr-unsure { color: #b45309; }
#reading .dr-error { padding: 0.8rem 1rem; border-radius: 8px; background: #fef2f2;
  color: #991b1b; border: 1px solid #fecaca; font-size: 1.05rem; }
#reading .dr-hint, #photo-tips { color: var(--body-text-color); }
/* A one-colour pad: the brush is always picked (PICK_BRUSH) and there is one colour and one
   size, so the tool column (brush, colour, size), pan and zoom are hidden; undo, redo and
   clear stay. Nothing covers the drawing area. */
#canvas .toolbar-wrap, #canvas button[aria-label="Pan"], #canvas button[aria-label^="Zoom"],
#canvas .zoom-number, #canvas .separator { display: none !important; }
/* A phone: the page's margins shrink, the canvas takes the width and only the height its
   drawing area needs (Gradio keeps 30 px around it), the intro is one line, the buttons share
   a row: the reading shows under them without scrolling. */
@media (max-width: 640px) {
  #intro h1 { font-size: 1.4rem; margin: 0 0 0.2rem; }
  #intro p:nth-of-type(n+2), #intro .dr-more { display: none; }
  #canvas { width: 100% !important; max-width: none !important;
    height: calc((100vw - 16px - 60px) / 2 + 60px) !important; }
  #draw-buttons { flex-wrap: nowrap; }
  #draw-buttons > * { min-width: 0 !important; }
  #reading .dr-number { font-size: 2.4rem; }
  #reading .dr-caption { margin: 0 0 0.4rem; font-size: 0.85rem; }
}
"""

# The page's own margins (Gradio's custom CSS only reaches what is inside the app, so this goes
# in the page's head): narrow on a phone.
HEAD = """<style>
@media (max-width: 640px) { .gradio-container .main.app { padding: 6px 8px; } }
</style>"""

# Gradio's canvas starts, and comes back after every clear, with no tool picked ("select the
# draw tool to start"). The page picks the brush whenever no tool is picked, so that a visitor
# can always draw at once.
PICK_BRUSH = """
() => {
  setInterval(() => {
    const brush = document.querySelector('#canvas button[aria-label="Brush"]');
    const picked = document.querySelector('#canvas button.highlight');
    if (brush && !picked) brush.click();
  }, 200);
}
"""

CLEAR_CANVAS = """
() => { document.querySelector('#canvas button[aria-label="Clear canvas"]')?.click(); }
"""

INTRO = """# Draw a digit

Write a digit or a number below and press **Read**, or upload or take a photo of a number
written on paper. The page says which number it reads, how sure it is of each digit, and when
it finds no digit at all.

<details class="dr-more"><summary>How it reads</summary>

A photo of a sheet on a desk is first cut to the sheet and straightened. The writing is then
prepared the way the MNIST digits were made (grayscale, ink found, each digit scaled to 20
pixels and centred in a 28x28 square) and read by a convolutional network trained on MNIST's
handwritten digits. A digit is marked unsure when its reading changes as the 28x28 square
moves by one pixel, or when it looks unlike any digit the network was trained on.
</details>"""

PHOTO_TIPS = ("**Taking the picture:** dark ink on light paper, one line of digits; hold the "
              "sheet flat and let it fill most of the frame.")

# Problems the browser meets before anything reaches the server, answered in the reading pane
# like any other bad input (one current message, in the page's words; Gradio's own pop-ups
# are not shown): a file Gradio's upload box would refuse (not an image type, over the size
# limit), and a camera that cannot be opened (none, access refused, in use; Gradio leaves
# those as an uncaught error in the console). `server.page_problem` (Reader.page_problem)
# words the message; `props.value` shows it (gr.HTML's js_on_load).
PAGE_CHECKS = """
const say = async (problem, name) => {
  props.value = await server.page_problem(problem, String(name ?? ""));
};
const refused = (files) => {
  const file = Array.from(files || [])[0];
  if (!file) return null;
  if (file.size === 0) return ["empty", file.name];
  if (!file.type.startsWith("image/")) return ["not-an-image", file.name];
  if (file.size > MAX_BYTES) return ["too-heavy", file.name];
  return null;
};
const check = (event, files) => {
  const problem = refused(files);
  if (!problem) return;
  event.preventDefault();
  event.stopPropagation();  // capture phase: Gradio's upload box never sees the file
  say(...problem);
};
document.addEventListener("change", (event) => {
  if (event.target.matches?.("#photo input[type=file]")) check(event, event.target.files);
}, true);
document.addEventListener("drop", (event) => {
  if (event.target.closest?.("#photo")) check(event, event.dataTransfer?.files);
}, true);
const media = navigator.mediaDevices;
const reported = new WeakSet();
if (media?.getUserMedia) {
  const open = media.getUserMedia.bind(media);
  media.getUserMedia = (constraints) => open(constraints).catch((error) => {
    reported.add(error);
    say("camera", error?.name);
    throw error;
  });
} else {  // no camera API at all: an insecure (http, not localhost) page, an old browser
  document.addEventListener("click", (event) => {
    if (event.target.closest?.("#photo .webcam, #photo button[aria-label*=amera i]"))
      say("camera", "unsupported");
  }, true);
}
// Gradio does not catch the camera's refusal; the page has said what it means.
window.addEventListener("unhandledrejection", (event) => {
  if (reported.has(event.reason)) event.preventDefault();
});
"""


class Reader:
    """The model, loaded once, and the page's two readings: a drawing and a photo.

    Each method returns the HTML shown in the page: the reading, or one line saying what is
    wrong with the input. It never raises, so a bad request leaves the server serving.
    """

    def __init__(self, model, name: str = "model",
                 calibrated: calibration.Calibration | None = None):
        self.model = model
        self.name = name
        self.calibrated = calibrated  # the model's calibration (None: uncalibrated)
        self._lock = threading.Lock()  # one model call at a time (2 cores; Keras state)
        self._answers = itertools.count(1)  # each answer is numbered: a page can tell it is new

    @classmethod
    def load(cls, path: str | os.PathLike | None = None,
             reference: calibration.Reference | None = None) -> Reader:
        """The model at `path`, calibrated on `reference` (fitted here, at start)."""
        path = Path(path) if path else predict.DEFAULT_MODEL
        model = predict.load_model(path)
        return cls(model, path.name,
                   calibration.Calibration.fit(model, reference) if reference else None)

    def warm_up(self) -> None:
        """Readings of 1, 2 and 3 digits with their shifts (and their features, when
        calibrated) at start, so that the first visitors do not wait for TensorFlow to set up
        (it traces the model for each new batch shape)."""
        for n in (1, 2, 3):
            digits = np.zeros((n, 28, 28), np.uint8)
            predict.read_digits(self.model, digits)
            if self.calibrated is not None:
                self.calibrated.typical(predict.model_input(self.model, digits))

    # ---------------------------------------------------------------- the two inputs

    def read_drawing(self, value) -> str:
        """The sketchpad's value: a dict with a 'composite' picture (RGBA, strokes on
        transparent), or None when nothing was drawn."""
        composite = value.get("composite") if isinstance(value, dict) else value
        if composite is None or _blank(composite):
            return self._answer(error_html(EMPTY_CANVAS))
        return self._answer(self.read_picture(composite, "drawing"))

    def read_upload(self, value) -> str:
        """An uploaded file or webcam snapshot: Gradio's file data (a dict with the path of
        the server's copy), a path, or a Pillow image."""
        if isinstance(value, dict):  # the image component's raw value (preprocess=False)
            url = value.get("url") or ""
            if value.get("path"):
                value = value["path"]
            elif url.startswith("data:"):  # an inline frame
                try:
                    value = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[-1])))
                except Exception:  # bad base64, not an image, a decompression bomb
                    return self._answer(error_html(
                        f"photo: not an image (expected a {images.FORMATS} file)"))
            else:
                value = None
        if value is None:
            return self._answer(error_html(NO_PICTURE))
        return self._answer(self.read_picture(value, "photo"))

    def page_problem(self, problem: str, name: str = "") -> str:
        """A problem the page met in the browser (PAGE_CHECKS): a file it refused to send
        ("not-an-image", "empty", "too-heavy", with the file's name) or a camera that would not open
        ("camera", with the browser's error name)."""
        if problem == "not-an-image":
            message = NOT_A_PICTURE.format(name=name or "the file")
        elif problem == "empty":
            message = EMPTY_FILE.format(name=name or "the file")
        elif problem == "too-heavy":
            message = TOO_HEAVY.format(name=name or "the file")
        elif problem == "camera":
            message = CAMERA_PROBLEMS.get(name, CAMERA_FAILED).format(name=name or "unknown")
        else:
            message = f"The page met a problem it cannot name ({problem})."
        return self._answer(error_html(message))

    def _answer(self, content: str) -> str:
        return f'<div class="dr-answer" data-answer="{next(self._answers)}">{content}</div>'

    # ---------------------------------------------------------------- the reading

    def read(self, picture, source: str) -> predict.Reading:
        """Prepare a picture exactly as `predict` does and read it; DigitRecognizerError for
        bad input, with the file named by its own name (not the server's copy)."""
        name = source
        if isinstance(picture, (str, os.PathLike)):
            name = Path(picture).name
        try:
            prepared = images.prepare(picture, source=name)
        except DigitRecognizerError as exc:
            message = str(exc)
            if isinstance(picture, (str, os.PathLike)):
                message = message.replace(str(picture), name)
            raise DigitRecognizerError(message) from None
        with self._lock:
            [reading] = predict.read_prepared([prepared], self.model, self.calibrated)
        return reading

    def read_picture(self, picture, source: str) -> str:
        start = time.perf_counter()
        try:
            reading = self.read(picture, source)
        except DigitRecognizerError as exc:
            return error_html(str(exc))
        except MemoryError:
            return error_html(f"{source}: the picture is too large to read; downscale it first")
        except Exception as exc:  # never a stack trace in the page; the log has it
            traceback.print_exc(file=sys.stderr)
            return error_html(f"{source}: could not read this picture ({type(exc).__name__})")
        return reading_html(reading, time.perf_counter() - start)


def _blank(picture) -> bool:
    """True for a canvas with nothing on it: fully transparent, or a single colour."""
    array = np.asarray(picture)
    if array.size == 0:
        return True
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = array[:, :, 3]
        if alpha.max() == 0:
            return True
        return False
    return bool(array.min() == array.max())


# --------------------------------------------------------------------------- the page's HTML


def _png_data_url(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def error_html(message: str) -> str:
    return (f'<div class="dr-error" role="alert" data-testid="reading-error">'
            f"{html.escape(message)}</div>")


def reading_html(reading: predict.Reading, seconds: float | None = None) -> str:
    """The number, then per digit the 28x28 input the model saw and its top-3 as bars; "no
    digit found" where no mark reads as a digit."""
    if not reading.found:
        return error_html(f"{reading.source}: no digit found: {predict.NOT_FOUND}")
    cards = []
    for i, digit in enumerate(reading.digits, start=1):
        rows = []
        for rank, (label, p) in enumerate(digit.top):
            top = " dr-top" if rank == 0 else ""
            rows.append(
                f'<span class="dr-label{top}">{label}</span>'
                f'<span class="dr-track{top}"><span class="dr-fill" '
                f'style="width:{100 * p:.1f}%"></span></span>'
                f'<span class="dr-p{top}">{p:.0%}</span>'
            )
        unsure = ' <span class="dr-unsure">(unsure)</span>' if digit.unsure else ""
        cards.append(
            f'<figure class="dr-digit" data-digit="{digit.digit}">'
            f'<img src="{_png_data_url(digit.image)}" alt="input {i}: the 28x28 picture the '
            f'model saw" title="input {i}">'
            f'<figcaption><div class="dr-bars" aria-label="top-3 of digit {i}">'
            f'{"".join(rows)}</div>{unsure}</figcaption></figure>'
        )
    n = len(reading.digits)
    timing = f" in {1000 * seconds:.0f} ms" if seconds is not None else ""
    caption = (f"{n} digit{'s' if n > 1 else ''} read{timing}. Below, left to right: the "
               f"28x28 input{'s' if n > 1 else ''} the model saw, and its three most likely "
               "digits.")
    return (f'<div class="dr-result"><div class="dr-number" data-testid="reading-number">'
            f"{html.escape(reading.number)}</div>"
            f'<p class="dr-caption">{caption}</p>'
            f'<div class="dr-digits">{"".join(cards)}</div></div>')


HINT = ('<p class="dr-hint">The reading appears here: the number, and for each digit the 28x28 '
        "input the model saw and its top-3 probabilities.</p>")


# --------------------------------------------------------------------------- the app


def build_app(reader: Reader):
    """The Gradio Blocks page for a Reader (not launched)."""
    import gradio as gr

    # Gradio keeps each upload in its cache folder: every 10 minutes, those over an hour old go.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=0, min_width=CANVAS_BOX[0] + 24):
                with gr.Tab("Draw", id="draw"):
                    canvas = gr.Sketchpad(
                        label="Draw here (mouse or finger)",
                        type="pil",
                        image_mode="RGBA",
                        format="png",
                        canvas_size=CANVAS_SIZE,
                        width=CANVAS_BOX[0],
                        height=CANVAS_BOX[1],
                        fixed_canvas=True,
                        brush=gr.Brush(default_size=BRUSH_RADIUS, colors=["#000000"],
                                       color_mode="fixed"),
                        layers=False,
                        transforms=(),
                        elem_id="canvas",
                    )
                    with gr.Row(elem_id="draw-buttons"):
                        read_drawing = gr.Button("Read", variant="primary", elem_id="read")
                        clear = gr.Button("Clear", elem_id="clear")
                with gr.Tab("Upload or webcam", id="upload"):
                    photo = gr.Image(
                        label="A photo or scan of handwritten digits (one line)",
                        type="filepath",
                        sources=["upload", "webcam", "clipboard"],
                        # As the camera sees it: a mirrored snapshot reads 2024 as 7505.
                        webcam_options=gr.WebcamOptions(mirror=False),
                        elem_id="photo",
                    )
                    gr.Markdown(PHOTO_TIPS, elem_id="photo-tips")
                    read_photo = gr.Button("Read the photo", variant="primary",
                                           elem_id="read-photo")
            with gr.Column(scale=1, min_width=320):
                reading = gr.HTML(HINT, elem_id="reading", label="Reading",
                                  js_on_load=PAGE_CHECKS.replace(
                                      "MAX_BYTES", str(MAX_UPLOAD_MB * 2**20)),
                                  server_functions=[_page_problem(reader)])
        read_drawing.click(reader.read_drawing, canvas, reading, api_name="read_drawing",
                           concurrency_limit=2)
        # preprocess=False: the handler gets the uploaded file's path, unopened, so that a file
        # that is not a picture, or a decompression bomb, gets images.open_image's message (the
        # same as `predict`) rather than Gradio's own error.
        read_photo.click(reader.read_upload, photo, reading, api_name="read_photo",
                         concurrency_limit=2, preprocess=False)
        # A file the server refuses leaves the upload box empty again, with its drop zone
        # (Gradio would keep a broken preview until the visitor clicks X).
        photo.upload(_reading_and_refused(reader, gr), photo, [reading, photo], api_name=False,
                     concurrency_limit=2, preprocess=False)
        # The canvas's own "Clear canvas" button empties it (setting its value to None leaves
        # the strokes on the screen); the reading goes back to the hint.
        clear.click(lambda: HINT, None, reading, api_name=False, queue=False,
                    js=CLEAR_CANVAS)
    return app


def _reading_and_refused(reader: Reader, gr):
    """Reader.read_upload, and the upload box emptied when the file was refused."""

    def read(value):
        answer = reader.read_upload(value)
        return answer, (None if 'class="dr-error"' in answer else gr.skip())

    return read


def _page_problem(reader: Reader):
    """Reader.page_problem as a plain function for gr.HTML's server_functions (Gradio marks
    a server function with an attribute, which a bound method cannot take)."""

    def page_problem(args) -> str:
        """Gradio passes the JavaScript call's arguments as one list: [problem, name]."""
        words = [str(word)[:200] for word in args] if isinstance(args, list) else []
        problem, name = (words + ["", ""])[:2]
        return reader.page_problem(problem, name)

    return page_problem


def launch(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
    """Start serving the page in the background; returns once the server is up."""
    import gradio as gr

    theme = gr.themes.Default(  # local fonts only: the page loads nothing from elsewhere
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    app.queue(default_concurrency_limit=2)
    try:
        app.launch(server_name=host, server_port=port, prevent_thread_lock=True,
                   show_error=False, quiet=True, inbrowser=False, share=False, ssr_mode=False,
                   max_file_size=MAX_UPLOAD, theme=theme, css=CSS, head=HEAD, js=PICK_BRUSH,
                   footer_links=[], enable_monitoring=False, mcp_server=False,
                   run_history=False, state_session_capacity=STATE_SESSIONS)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        detail = "the port is in use" if "empty port" in str(exc) else str(exc)
        raise DigitRecognizerError(
            f"cannot serve on {host}:{port}: {detail}; pick another with --port"
        ) from None
    return app


def serve(model: str | os.PathLike | None = None, host: str = DEFAULT_HOST,
          port: int = DEFAULT_PORT, reference: calibration.Reference | None = None) -> None:
    """Load the model (calibrated on `reference`), build the page and serve it until Ctrl-C
    or SIGTERM; prints the URL."""
    reader = Reader.load(model, reference)
    reader.warm_up()
    app = launch(build_app(reader), host, port)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    print(f"serving the digit demo (model {reader.name}) at http://{shown}:{port}/", flush=True)
    print("press Ctrl-C to stop", flush=True)
    fileio.unwind_on_sigterm()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        app.close()
