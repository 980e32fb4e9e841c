"""Hugging Face Spaces entry point (Gradio SDK): the "draw a digit" web demo.

A Space with `sdk: gradio` runs `python app.py`. Copy into the Space: this file, the package
folder `src/digit_recognizer/` (keep the `src/` folder), a trained model as `model.keras`, and
`spaces/requirements.txt` as `requirements.txt` (README: "Draw a digit in the browser").

Anywhere else, `python app.py` serves the same page as `digit-recognizer serve`: the model is
$DIGIT_MODEL, else `model.keras` beside this file, else `outputs/models/best.keras` (what
./run_all.sh writes); it listens on $GRADIO_SERVER_NAME:$GRADIO_SERVER_PORT, by default
127.0.0.1:7860 (0.0.0.0 on a Space).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if (HERE / "src" / "digit_recognizer").is_dir():  # a checkout or a Space, not installed
    sys.path.insert(0, str(HERE / "src"))

from digit_recognizer.demo import page as demo  # noqa: E402
from digit_recognizer.errors import DigitRecognizerError  # noqa: E402


def model_path() -> Path:
    if os.environ.get("DIGIT_MODEL"):
        return Path(os.environ["DIGIT_MODEL"])
    if (HERE / "model.keras").is_file():
        return HERE / "model.keras"
    return HERE / "outputs" / "models" / "best.keras"


def main() -> int:
    on_a_space = "SPACE_ID" in os.environ
    host = os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if on_a_space else demo.DEFAULT_HOST)
    port = int(os.environ.get("GRADIO_SERVER_PORT", demo.DEFAULT_PORT))
    try:
        demo.serve(model_path(), host, port)
    except DigitRecognizerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
