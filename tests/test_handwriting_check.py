"""Checking the picture reader on held-out digits (notebook 09), without a trained model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from digit_recognizer.datasets import data, preprocess
from digit_recognizer.presentation import report
from digit_recognizer.reading import images, predict
from digit_recognizer.reading_checks import handwriting_check, naive_prep
from digit_recognizer.reading_checks.picture_makers import Rendered, photo_like


@pytest.fixture(scope="module")
def sample():
    folder = data.sample_dir()
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    return test, data.read_answer_key(folder / "answer_key.csv.gz")


def digit_reading(probabilities: list[float]) -> predict.DigitReading:
    p = np.array(probabilities, float)
    best = int(p.argmax())
    return predict.DigitReading(best, float(p[best]), p, np.zeros((28, 28), np.uint8),
                                (0, 0, 1, 1))


def reading(*digits: predict.DigitReading) -> predict.Reading:
    prepared = images.Prepared("x", np.zeros((2, 2), np.float32), np.zeros((2, 2), np.uint8),
                               (2, 2), True)
    return predict.Reading("x", prepared, list(digits))


def sure(digit: int, p: float = 0.99) -> predict.DigitReading:
    probabilities = np.full(10, (1 - p) / 9)
    probabilities[digit] = p
    return digit_reading(list(probabilities))


# --------------------------------------------------------------------------- scoring


def test_digits_are_scored_by_position():
    assert handwriting_check.correct_digits("1969", "1969") == 4
    assert handwriting_check.correct_digits("1969", "1964") == 3
    assert handwriting_check.correct_digits("1969", "196") == 0  # split wrongly: none trusted


def test_a_right_reading_needs_no_explanation():
    assert handwriting_check.explain("17", reading(sure(1), sure(7))) == ""


def test_merged_digits_are_explained_as_segmentation():
    text = handwriting_check.explain("177", reading(sure(1), sure(7)))
    assert text.startswith("segmentation: 3 digits written, 2 found") and "merged" in text
    text = handwriting_check.explain("1", reading(sure(1), sure(7)))
    assert "broken into more marks" in text


def test_a_misread_digit_names_the_models_second_choice():
    p = [0.0] * 10
    p[7], p[1], p[4] = 0.6, 0.3, 0.1
    text = handwriting_check.explain("41", reading(sure(4), digit_reading(p)))
    assert text == ("a 1 read as 7 (p=0.60); the true digit was the model's second choice "
                    "(p=0.30)")


def test_a_misread_digit_ranked_lower_gives_its_rank():
    p = [0.0] * 10
    p[7], p[2], p[1] = 0.6, 0.38, 0.02
    assert handwriting_check.explain_digit(1, digit_reading(p)) == \
        "a 1 read as 7 (p=0.60); the true digit ranked 3 of 10 (p=0.020)"


def test_no_digit_found_is_explained():
    assert handwriting_check.explain("3", None) == "no digit found in the picture"


def checked(number: str, read_digits: list[predict.DigitReading]) -> handwriting_check.Checked:
    item = Rendered(Image.new("L", (4, 4)), number, "photo", tuple(range(len(number))))
    r = reading(*read_digits)
    return handwriting_check.Checked(item, r, r.number,
                                     handwriting_check.correct_digits(number, r.number),
                                     handwriting_check.explain(number, r))


def test_accuracy_table_and_the_failure_to_show():
    p = [0.0] * 10
    p[7], p[1] = 0.55, 0.45
    results = [checked("12", [sure(1), sure(2)]), checked("3", [sure(3, 0.6)]),
               checked("41", [sure(4), digit_reading(p)]), checked("5", [sure(5), sure(5)])]
    assert handwriting_check.digit_accuracy(results) == (1 + 2 + 1 + 0, 6)
    table = handwriting_check.table(results)
    assert list(table[""]) == ["✓", "✓", "✗", "✗"]
    assert table["why"][2].startswith("a 1 read as 7")
    found, position = handwriting_check.first_misread_digit(results)
    assert found is results[2] and position == 1
    least, at = handwriting_check.least_confident(results)
    assert (least, at) == (results[2], 1)  # p=0.55, below the 3's 0.6
    assert handwriting_check.first_misread_digit(results[:2]) is None


def test_accuracy_text_gives_the_interval():
    text = handwriting_check.accuracy_text(95, 100, "digits")
    low, high = (round(100 * v, 1) for v in report.wilson(
        95, 100))
    assert text == f"95 of 100 digits read right: 95.0% (95% interval {low}%–{high}%)"


def test_held_out_rows_are_the_test_rows_when_labelled():
    x = np.zeros((3, 28, 28, 1), np.float32)
    x_test = np.ones((2, 28, 28, 1), np.float32)
    split = preprocess.Split(x, preprocess.one_hot(np.array([0, 1, 2])), x,
                             preprocess.one_hot(np.array([3, 4, 5])), x_test,
                             np.array([7, 8]))
    chosen = handwriting_check.held_out(split)
    assert list(chosen.labels) == [7, 8] and chosen.digits.max() == 255
    split.answer_key = None
    chosen = handwriting_check.held_out(split)
    assert list(chosen.labels) == [3, 4, 5] and chosen.digits.dtype == np.uint8
    assert "validation" in chosen.what


def test_preparation_comparison_text_says_whether_beyond_noise():
    far = handwriting_check.preparation_text({"a": 190, "b": 60}, 200)
    assert "95.0%" in far and "larger than the held-out picture set's noise" in far
    close = handwriting_check.preparation_text({"a": 190, "b": 188}, 200)
    assert "cannot tell them apart" in close


# --------------------------------------------------------------------------- naive preparation


def test_naive_input_is_the_whole_picture_resized(sample):
    test, _ = sample
    photo = photo_like([test[0]], np.random.default_rng(1))
    naive = naive_prep.naive_input(photo)
    assert naive.shape == (28, 28) and naive.dtype == np.uint8
    assert naive.max() == 255 and naive.min() == 0  # stretched, ink bright
    assert np.median(naive) < 128  # light paper was inverted to a dark background


def test_naive_input_does_not_centre_the_digit():
    page = np.full((280, 560), 235, np.uint8)
    page[20:120, 20:40] = 20  # a "1" in the top left corner of a wide page
    naive = naive_prep.naive_input(page)
    rows, cols = np.nonzero(naive > 128)
    assert rows.mean() < 10 and cols.mean() < 5  # still in the corner
    prepared = images.prepare(page).digits[0].image
    rows, cols = np.nonzero(prepared > 128)
    assert abs(rows.mean() - 14) < 2 and abs(cols.mean() - 14) < 2  # prepare centres it


def test_naive_input_of_a_dark_board_is_not_inverted():
    board = np.full((100, 100), 20, np.uint8)
    board[30:70, 45:55] = 230
    naive = naive_prep.naive_input(board)
    assert naive[14, 14] > 200 and naive[2, 2] < 40  # the bright chalk stays bright


def test_the_failure_story_prefers_a_misread_digit():
    p = [0.0] * 10
    p[7], p[1] = 0.55, 0.45
    merged = checked("12", [sure(1)])
    misread = checked("41", [sure(4), digit_reading(p)])
    c, i, text = handwriting_check.failure_story([merged, misread])
    assert (c, i) == (misread, 1)
    assert text.startswith("**41** was read as **47**: a 1 read as 7 (p=0.55)")
    c, i, text = handwriting_check.failure_story([checked("3", [sure(3)]), merged])
    assert (c, i) == (merged, None) and "segmentation" in text


def test_without_failures_the_story_is_the_least_confident_digit():
    p = [0.0] * 10
    p[8], p[3] = 0.7, 0.3
    results = [checked("5", [sure(5)]), checked("18", [sure(1), digit_reading(p)])]
    c, i, text = handwriting_check.failure_story(results)
    assert (c, i) == (results[1], 1)
    assert text == ("Every picture was read right. The least confident reading is the 8 in "
                    "**18**, read with p=0.70; the model's second choice there was 3 (p=0.30).")


def test_an_eight_takes_an():
    p = [0.0] * 10
    p[3], p[8] = 0.6, 0.4
    assert handwriting_check.explain_digit(8, digit_reading(p)).startswith("an 8 read as 3")


def test_the_naive_readings_are_explained_by_the_digit_the_model_favours():
    labels = np.arange(20) % 10
    read = np.where(np.arange(20) < 14, 4, labels)  # 14 read as 4, the last 6 right
    text = handwriting_check.naive_reading_text(read, labels)
    assert text.startswith("The model reads 15 of the 20 naive inputs (75%) as 4, a digit "
                           "written on 10% of them: it favours one digit")
    assert text.endswith("So 35.0% read right is nearer guessing (10%) than reading")
    fair = handwriting_check.naive_reading_text(labels, labels)  # all right, none favoured
    assert "favours" not in fair and "guessing" not in fair
    correct = handwriting_check.Preparations({"a": 20, "b": 7}, read, labels)
    assert handwriting_check.preparation_table(correct, 20)["right"].tolist() == ["20 / 20",
                                                                                "7 / 20"]
    assert handwriting_check.preparation_text(correct, 20).endswith("than reading")
    assert "favours" not in handwriting_check.preparation_text({"a": 20, "b": 7}, 20)


def test_the_grid_of_forty_pictures_is_a_small_palette_png(sample, tmp_path):
    from digit_recognizer.reading_checks import picture_makers

    test, labels = sample
    rendered = picture_makers.render_numbers(test, labels, 40, 9)
    checked = [handwriting_check.Checked(r, None, r.number, len(r.number)) for r in rendered]
    path = predict.save_png(handwriting_check.plot_grid(checked), tmp_path / "grid.png")
    with Image.open(path) as png:
        assert png.mode == "P" and png.width <= 1000
    assert path.stat().st_size < 250_000  # the notebook showing it stays well under 1 MB
