"""The command line: readable errors, non-zero exits, fast start without TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from conftest import run_cli

from digit_recognizer.datasets import submit


def test_validate_and_score(tmp_path, train_csv, test_csv):
    ok = run_cli("validate", "train", str(train_csv))
    assert ok.returncode == 0 and "valid train file, 20 rows" in ok.stdout
    ok = run_cli("validate", "test", str(test_csv))
    assert ok.returncode == 0 and "valid test file, 7 rows" in ok.stdout
    pred = submit.write_submission(tmp_path / "pred.csv", [1, 2, 3, 4])
    key = submit.write_submission(tmp_path / "key.csv", [1, 2, 3, 5])
    scored = run_cli("score", str(pred), str(key))
    assert scored.returncode == 0 and "accuracy 0.75000" in scored.stdout


def test_bad_input_gives_one_line_and_exit_2(tmp_path, test_csv):
    bad = run_cli("validate", "train", str(test_csv))
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "looks like a test file" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    short = tmp_path / "short.csv"
    short.write_text("ImageId,Label\n1,3\n")
    bad = run_cli("validate", "submission", str(short), "--rows", "28000")
    assert bad.returncode == 2 and "has 1 rows, expected 28000" in bad.stderr
    debug = run_cli("--debug", "validate", "train", str(test_csv))
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_unknown_source_is_refused():
    bad = run_cli("data", "--source", "web")
    assert bad.returncode == 2 and "unknown source 'web'" in bad.stderr


def test_non_model_commands_do_not_import_tensorflow(tmp_path, train_csv):
    code = (
        "import sys; from digit_recognizer import cli;"
        f"cli.main(['validate', 'train', {str(train_csv)!r}]);"
        "heavy = [m for m in ('tensorflow', 'keras', 'kaggle', 'gradio') if m in sys.modules];"
        "print('heavy:', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "heavy: []" in out.stdout
