"""How well photos as people take them are read: a sheet on a desk, and pictures with no digit.

    .venv/bin/python bench/photo_reading.py --model outputs/models/best.keras

Generates, seeded (`picture_makers.render_desk_photos` and `render_non_digits`), phone photos
of numbers of 3 to 5 digits written on a sheet of paper lying on a desk (tilted, half to all
of the frame, ruled or not, a pen beside it, uneven light and a shadow, blur, JPEG), and
photos with no digit (a blank sheet, the desk alone, letters). The digits are sample test rows
that no model of this project trains on. Two sets: one to choose the thresholds on
(`--calibration-seed`), one to report (`--seed`), never the same pictures.

Each set is read twice with the same model:
- before: the whole picture, and a digit marked unsure below 50% (the rule of 2026-11);
- after: the sheet found and straightened first, and a digit marked unsure when its
  confidence (`predict.confidence`: the least probability that the input and its one-pixel
  shifts give the reading) is below the model's own level (`reading.calibration`), or when
  it lies far from the digits the model trained on (likewise); a picture none of whose marks
  is a near digit
  read with `predict.NOT_A_DIGIT` or more says that no digit was found.

Reported per set: numbers read right; readings that are wrong with no digit marked unsure
(a confident wrong answer); pictures with no digit that got a number with no unsure mark; and
the least confidence of each wrong reading, which shows the UNSURE that the calibration set
supports. Writes bench/results/photo_reading.json (--output to name another);
`--table FILE...` prints the README's table from such files.

A benchmark, not a test: the rates depend on the model.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from digit_recognizer import fileio
from digit_recognizer.datasets import data, reference
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.reading import calibration, images, predict
from digit_recognizer.reading_checks import handwriting_check, picture_makers

ROOT = Path(__file__).resolve().parents[1]
OLD_UNSURE = 0.5  # the rule before: the top softmax probability alone


def pictures(photos: int, non_digits: int, seed: int):
    folder = data.sample_dir()
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    labels = data.read_answer_key(folder / "answer_key.csv.gz")
    rows = reference.unseen_sample_rows()
    rng = np.random.default_rng(seed)
    rows = rng.permutation(rows)
    desk = picture_makers.render_desk_photos(test[rows], labels[rows], photos, seed)
    return desk, picture_makers.render_non_digits(non_digits, seed + 1)


def read(picture, model, after: bool) -> dict:
    """One picture's reading: the number, and whether any digit is marked unsure."""
    try:
        prepared = images.prepare(picture, "photo", find_sheet=after)
    except DigitRecognizerError:
        return {"number": "", "found": False, "sure": False, "least": None}
    reading = predict.read_prepared([prepared], model, handwriting_check.calibrated(model))[0]
    if after:
        least = min(d.confidence for d in reading.digits)
        found = reading.found
        sure = found and not any(d.unsure for d in reading.digits)
        atypical = sum(not d.typical for d in reading.digits)
        return {"number": reading.number if found else "", "found": found, "sure": sure,
                "least": round(float(least), 4), "atypical_marks": atypical}
    else:
        least = min(d.probability for d in reading.digits)
        found, sure = True, least >= OLD_UNSURE
    return {"number": reading.number if found else "", "found": found, "sure": sure,
            "least": round(float(least), 4)}


def score(desk, others, model, after: bool) -> dict:
    readings = [read(r.picture, model, after) for r in desk]
    right = [r["number"] == d.number for r, d in zip(readings, desk, strict=True)]
    confident_wrong = [not ok and r["sure"] for ok, r in zip(right, readings, strict=True)]
    non = [read(r.picture, model, after) for r in others]
    return {
        "photos": len(desk), "read_right": int(sum(right)),
        "read_right_share": round(float(np.mean(right)), 4),
        "wrong_without_unsure_mark": int(sum(confident_wrong)),
        "right_but_marked_unsure": int(sum(ok and not r["sure"]
                                           for ok, r in zip(right, readings, strict=True))),
        "non_digit_pictures": len(others),
        "non_digit_given_a_sure_number": int(sum(r["found"] and r["sure"] for r in non)),
        "non_digit_said_no_digit": int(sum(not r["found"] for r in non)),
        "photos_detail": [{"written": d.number, **r} for d, r in zip(desk, readings, strict=True)],
        "non_digit_detail": [{"kind": o.style, **r} for o, r in zip(others, non, strict=True)],
    }


def markdown_table(records: dict[str, dict]) -> str:
    """The README's table: per record (named by its file) and set, before and after."""
    lines = ["| model | set | reading | numbers read right | wrong, no unsure mark | "
             "right, marked unsure | no-digit pictures given a sure number |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, record in records.items():
        for set_name, result in record["sets"].items():
            for when in ("before", "after"):
                got = result[when]
                lines.append(
                    f"| `{name}` | {set_name} | {when} | {got['read_right']} / {got['photos']} "
                    f"| {got['wrong_without_unsure_mark']} | {got['right_but_marked_unsure']} "
                    f"| {got['non_digit_given_a_sure_number']} / {got['non_digit_pictures']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--table"]:
        print(markdown_table({Path(p).stem: fileio.read_json(Path(p)) for p in argv[1:]}))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "outputs" / "models" / "best.keras"))
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--non-digits", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--calibration-seed", type=int, default=1207)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                                "photo_reading.json"))
    args = parser.parse_args(argv)
    model = predict.load_model(args.model)
    record = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"machine": platform.machine(), "processor": platform.processor(),
                 "python": platform.python_version()},
        "model": str(Path(args.model).resolve().relative_to(ROOT)
                     if Path(args.model).resolve().is_relative_to(ROOT) else args.model),
        "command": "python bench/photo_reading.py " + " ".join(sys.argv[1:]),
        "thresholds": {"unsure_of_this_model": handwriting_check.calibrated(model).unsure,
                       "right_share": calibration.RIGHT_SHARE,
                       "not_a_digit": predict.NOT_A_DIGIT, "old_unsure": OLD_UNSURE},
        "sets": {},
    }
    for name, seed in (("calibration", args.calibration_seed), ("evaluation", args.seed)):
        desk, others = pictures(args.photos, args.non_digits, seed)
        record["sets"][name] = {"seed": seed,
                                "before": score(desk, others, model, after=False),
                                "after": score(desk, others, model, after=True)}
        wrong = [r["least"] for r, d in zip(record["sets"][name]["after"]["photos_detail"],
                                           desk, strict=True)
                 if r["found"] and r["number"] != d.number and not r["atypical_marks"]]
        record["sets"][name]["after"]["least_confidence_of_wrong_typical_readings"] = \
            sorted(wrong)
        print(f"{name}: the wrong readings' least confidences {sorted(wrong)}: UNSURE above "
              f"{max(wrong, default=0):.3f} marks them all")
        for when in ("before", "after"):
            got = record["sets"][name][when]
            print(f"{name:11s} {when:6s}: {got['read_right']}/{got['photos']} read right, "
                  f"{got['wrong_without_unsure_mark']} wrong without an unsure mark, "
                  f"{got['right_but_marked_unsure']} right but marked unsure; no digit: "
                  f"{got['non_digit_given_a_sure_number']}/{got['non_digit_pictures']} given a "
                  f"sure number, {got['non_digit_said_no_digit']} said no digit found")
    fileio.write_json(Path(args.output), record)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
