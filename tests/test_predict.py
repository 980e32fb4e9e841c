"""Reading photo-like handwriting with a trained model, and the `predict` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image
from test_images import _png_header_only

from digit_recognizer import cli
from digit_recognizer.datasets import data, reference
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.reading import images, predict
from digit_recognizer.reading_checks import picture_makers
from digit_recognizer.reading_checks.picture_makers import photo_like

PHOTO_DIGITS = 300  # the sample's first test rows, as photos
MIN_ACCURACY = 0.97


@pytest.fixture(scope="session")
def sample_test():
    folder = data.sample_dir()
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    return test, data.read_answer_key(folder / "answer_key.csv.gz")


@pytest.fixture(scope="session")
def model(model_path):
    return predict.load_model(model_path)


# --------------------------------------------------------------------------- accuracy


@pytest.mark.slow
def test_reads_photos_of_handwritten_digits(model, sample_test, tmp_path):
    """>= 97% of 300 MNIST test digits photographed: scaled up, dark ink on light paper,
    off centre, rotated up to 10 degrees, noisy and unevenly lit, saved as PNG or JPEG."""
    test, labels = sample_test
    rng = np.random.default_rng(2024)
    paths = []
    for i, digit in enumerate(test[:PHOTO_DIGITS]):
        photo = Image.fromarray(photo_like([digit], rng))
        path = tmp_path / (f"{i}.jpg" if i % 2 else f"{i}.png")
        photo.save(path, quality=90) if i % 2 else photo.save(path, compress_level=1)
        paths.append(path)
    readings = predict.read_pictures(paths, model)
    assert [len(r.digits) for r in readings] == [1] * PHOTO_DIGITS
    read = np.array([r.digits[0].digit for r in readings])
    accuracy = float((read == labels[:PHOTO_DIGITS]).mean())
    # The same model on the original 28x28 digits, for comparison.
    clean = predict.probabilities(model, test[:PHOTO_DIGITS]).argmax(axis=1)
    clean_accuracy = float((clean == labels[:PHOTO_DIGITS]).mean())
    print(f"photo-like digits: accuracy {accuracy:.4f} "
          f"(the original MNIST digits: {clean_accuracy:.4f})")
    assert accuracy >= MIN_ACCURACY


@pytest.mark.slow
def test_reads_numbers(model, sample_test):
    """Years and phone numbers written with the sample's test digits, read as numbers.

    The digits are ones the model reads confidently as plain MNIST, so this tests splitting,
    ordering and preprocessing rather than the classifier.
    """
    test, labels = sample_test
    sure = predict.probabilities(model, test[:600])[np.arange(600), labels[:600]] > 0.99
    pool = {d: [i for i in np.flatnonzero(sure) if labels[i] == d] for d in range(10)}
    rng = np.random.default_rng(7)
    numbers = ["1969", "2024", "07", "5550123", "0612345678", "31415926", "88", "4096"]
    for number in numbers:
        rows = [pool[int(c)][rng.integers(len(pool[int(c)]))] for c in number]
        photo = photo_like(list(test[rows]), rng, digit_px=(50, 110))
        [reading] = predict.read_pictures([photo], model)
        assert reading.number == number


# --------------------------------------------------------------------------- the command


@pytest.mark.slow
def test_predict_command_prints_top3_and_saves_figures(model_path, tmp_path, capsys):
    pictures = images.example_images()
    code = cli.main(["predict", *map(str, pictures), "--model", str(model_path),
                     "--figure-dir", str(tmp_path / "figs")])
    out = capsys.readouterr().out
    assert code == 0
    for path in pictures:
        number = images.example_numbers()[path.name]
        assert f"{path}: {number}\n" in out
        figure = tmp_path / "figs" / f"{path.stem}.png"
        assert f"figure: {figure}" in out
        with Image.open(figure) as image:
            assert image.format == "PNG" and image.width >= 600
    assert out.count("top-3:") == sum(len(n) for n in images.example_numbers().values())


@pytest.mark.slow
def test_predict_command_json(model_path, tmp_path, capsys):
    code = cli.main(["predict", "--examples", "--json", "--model", str(model_path),
                     "--figure-dir", str(tmp_path)])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["model"] == str(model_path)
    expected = images.example_numbers()
    assert len(document["images"]) == len(expected)
    for item in document["images"]:
        name = item["image"].rsplit("/", 1)[-1]
        assert item["number"] == expected[name]
        assert len(item["digits"]) == len(expected[name])
        for digit in item["digits"]:
            top = digit["top3"]
            assert len(top) == 3 and top[0]["digit"] == digit["digit"]
            assert top[0]["probability"] == digit["probability"]
            assert [t["probability"] for t in top] == sorted((t["probability"] for t in top),
                                                             reverse=True)
            assert len(digit["box"]) == 4
        assert (tmp_path / f"{name.rsplit('.', 1)[0]}.png").is_file()
        assert item["figure"].endswith(".png")


@pytest.mark.slow
def test_figure_of_a_reading(model):
    [reading] = predict.read_pictures([images.example_images()[3]], model)
    figure = predict.plot_reading(reading)
    # The picture, then an input image and probability bars per digit.
    assert len(figure.axes) == 1 + 2 * len(reading.digits)


@pytest.mark.slow
def test_a_model_that_is_not_a_model(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_text("not a zip archive")
    with pytest.raises(DigitRecognizerError, match="broken.keras: cannot load the model"):
        predict.load_model(path)


def test_missing_model_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    picture = images.example_images()[0]
    result = run_cli("predict", str(picture), cwd=tmp_path)  # as a user runs it
    assert result.returncode == 2
    assert result.stderr.startswith("error: no trained model at outputs/models/best.keras")
    assert "./run_all.sh" in result.stderr and "--model" in result.stderr
    assert "Traceback" not in result.stderr
    monkeypatch.chdir(tmp_path)
    assert cli.main(["predict", str(picture), "--model", "nowhere.keras"]) == 2
    assert "error: nowhere.keras: model file not found" in capsys.readouterr().err


def _bad_inputs(folder):
    (folder / "notes.png").write_text("shopping list\n")
    Image.fromarray(np.full((200, 300), 245, np.uint8)).save(folder / "blank.png")
    good = images.example_images()[0].read_bytes()
    (folder / "cut.jpg").write_bytes(good[: len(good) // 3])
    (folder / "bomb.png").write_bytes(_png_header_only(20_000, 20_000))
    return {
        "notes.png": "notes.png: not an image",
        "blank.png": "blank.png: no digit found",
        "cut.jpg": "cut.jpg: cannot decode the image",
        "gone.png": "gone.png: file not found",
        "bomb.png": "bomb.png: image is too large to decode safely",
    }


def test_bad_pictures_fail_clearly_before_loading_a_model(tmp_path, monkeypatch, capsys):
    """Every picture is checked first: no model (nor TensorFlow) is needed to reject them."""
    monkeypatch.chdir(tmp_path)
    good = str(images.example_images()[0])
    for name, message in _bad_inputs(tmp_path).items():
        assert cli.main(["predict", good, name, "--model", "nowhere.keras"]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}"), err
        assert "Traceback" not in err
    assert cli.main(["predict"]) == 2
    assert "give one or more pictures" in capsys.readouterr().err


def test_make_examples_command(tmp_path):
    result = run_cli("predict", "--make-examples", str(tmp_path / "ex"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == sorted(
        p.name for p in images.example_images())


def test_figure_names_do_not_collide():
    paths = predict.figure_paths(["a/x.png", "b/x.jpg", "y.tif"], "figs")
    assert [str(p) for p in paths] == ["figs/x.png", "figs/x-2.png", "figs/y.png"]


def test_figures_are_palette_pngs_that_keep_their_colours(tmp_path):
    from matplotlib.colors import to_rgb
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 2))
    photo, bars = fig.subplots(1, 2)
    photo.imshow(np.random.default_rng(0).integers(0, 256, (60, 60, 3), dtype=np.uint8))
    bars.bar([0, 1], [1, 0.5], color=["tab:orange", "tab:blue"])
    path = predict.save_png(fig, tmp_path / "figure.png")
    with Image.open(path) as png:
        assert png.mode == "P" and png.size == (400, 200)
        colours = {rgb for _, rgb in png.convert("RGB").getcolors(256)}
    for name in ("tab:orange", "tab:blue", "white"):  # next to 3,600 random colours
        wanted = np.array(to_rgb(name)) * 255
        assert min(np.abs(np.array(c) - wanted).max() for c in colours) < 12


# ------------------------------------------------------------- knowing when not to answer


def test_confidence_is_the_least_any_shift_gives_the_reading():
    probs = np.full((2, len(predict.SHIFTS), 10), 0.01)
    probs[:, :, 3] = 0.91  # both read 3 as they are...
    probs[1, 2, 3], probs[1, 2, 5] = 0.2, 0.72  # ...the second no longer when shifted left
    best, mean, confidence = predict.confidence(probs)
    assert best.tolist() == [3, 3]
    assert confidence.tolist() == pytest.approx([0.91, 0.2])
    assert mean[1, 3] == pytest.approx((4 * 0.91 + 0.2) / 5)
    moved = predict.shifted(np.eye(28, dtype=np.uint8)[None] * 255)
    assert moved.shape == (1, len(predict.SHIFTS), 28, 28)
    assert all(int(m.sum()) in (27 * 255, 28 * 255) for m in moved[0])


def test_the_unsure_mark_and_no_digit_found():
    def digit(confidence, typical=True):
        return predict.DigitReading(1, confidence, np.eye(10)[1], np.zeros((28, 28), np.uint8),
                                    (0, 0, 1, 1), confidence, typical)

    assert not digit(predict.UNSURE).unsure and digit(predict.UNSURE - 0.01).unsure
    assert digit(0.99, typical=False).unsure
    prepared = images.Prepared("x.png", np.zeros((4, 4)), np.zeros((4, 4), np.uint8), (4, 4),
                               True)
    assert predict.Reading("x.png", prepared, [digit(0.99), digit(0.1)]).found
    none = predict.Reading("x.png", prepared, [digit(predict.NOT_A_DIGIT - 0.01),
                                               digit(predict.UNSURE - 0.01, typical=False)])
    assert predict.Reading("x.png", prepared, [digit(0.99, typical=False)]).found
    assert not none.found and none.to_dict()["number"] == ""
    assert predict.describe(none) == f"x.png: no digit found ({predict.NOT_FOUND})"
    unsure = predict.describe(predict.Reading("x.png", prepared, [digit(0.5)]))
    assert "(unsure: confidence 50%)" in unsure


def test_shapes_that_are_no_digit_are_not_typical(sample_test):
    """Nearly every MNIST test digit lies within the typical distance; a blot, a grid, noise
    and a frame do not. The model here reads the pixels themselves (its last layer's inputs),
    so the test is of the statistics, not of a network's features; with the pipeline's models,
    letters too are measured by bench/photo_reading.py."""
    import keras

    from digit_recognizer.reading.calibration import Calibration, Reference

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    digits = Reference(*reference.calibration_digits())
    typicality = Calibration.fit(model, digits)
    assert Calibration.fit(model, digits) is typicality  # fitted once per model
    test, _ = sample_test
    near = typicality.distance(predict.model_input(model, test[:300])) <= typicality.limit
    assert near.mean() >= 0.97
    shapes = np.zeros((4, 28, 28), np.uint8)
    shapes[0, 4:24, 4:24] = 255  # a blot
    shapes[1, 4:24:4, 4:24] = shapes[1, 4:24, 4:24:4] = 255  # a grid
    shapes[2] = np.random.default_rng(0).integers(0, 2, (28, 28)) * 255  # noise
    shapes[3, 2:26, 2:26] = 255
    shapes[3, 5:23, 5:23] = 0  # a frame, as a sheet's outline would be
    far = typicality.distance(predict.model_input(model, shapes)) > typicality.limit
    assert far.all(), far


def test_desk_photos_and_pictures_without_digits_through_the_command(model_path, sample_test,
                                                                      tmp_path, capsys):
    """`predict --json` on phone photos of a sheet on a desk gives each number's digits (the
    sheet cut out), most read right; a desk with no paper says no digit found. (How often a
    wrong reading goes unmarked is a property of the model: bench/photo_reading.py.)"""
    test, labels = sample_test
    rows = reference.unseen_sample_rows()
    photos = picture_makers.render_desk_photos(test[rows], labels[rows], 6, seed=11)
    paths = []
    for i, photo in enumerate(photos):
        photo.picture.save(tmp_path / f"desk{i}.jpg", quality=85)
        paths.append(str(tmp_path / f"desk{i}.jpg"))
    code = cli.main(["predict", *paths, "--json", "--no-figure", "--model", str(model_path)])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    for photo, item in zip(photos, document["images"], strict=True):
        assert item["digit_found"] and len(item["digits"]) == len(photo.number)
        assert all(0 <= d["confidence"] <= d["probability"] + 1e-6 for d in item["digits"])
    right = sum(p.number == item["number"] for p, item in zip(photos, document["images"],
                                                                strict=True))
    print(f"desk photos read right by the test model: {right} of {len(photos)}")
    assert right >= 4
    [desk] = [r for r in picture_makers.render_non_digits(3, seed=6) if r.style == "desk"]
    desk.picture.save(tmp_path / "desk.jpg")
    code = cli.main(["predict", str(tmp_path / "desk.jpg"), "--model", str(model_path)])
    assert code != 0
    assert "desk.jpg: no digit found: no sheet of paper" in capsys.readouterr().err
