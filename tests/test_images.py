"""Loading pictures, MNIST-style preprocessing and splitting numbers (no TensorFlow here)."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from digit_recognizer.datasets import data, reference
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.reading import images, sheet
from digit_recognizer.reading_checks import picture_makers
from digit_recognizer.reading_checks.picture_makers import photo_like


@pytest.fixture(scope="module")
def sample():
    """The embedded sample's test digits (uint8, n x 28 x 28) and their answer-key labels."""
    folder = data.sample_dir()
    test, _ = data.read_digits_csv(folder / "test.csv.gz", labelled=False)
    return test, data.read_answer_key(folder / "answer_key.csv.gz")


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(float).ravel(), b.astype(float).ravel())[0, 1])


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def one_digit(picture) -> np.ndarray:
    prepared = images.prepare(picture)
    assert len(prepared.digits) == 1
    return prepared.digits[0].image


# --------------------------------------------------------------------------- MNIST style


def test_a_photo_becomes_an_mnist_digit(sample):
    test, _ = sample
    rng = np.random.default_rng(0)
    scores = []
    for digit in test[:30]:
        photo = photo_like([digit], rng)
        assert photo.shape[0] > 100 and photo.ndim == 3  # dark on light, RGB, uneven light
        image = one_digit(photo)
        assert image.dtype == np.uint8 and image.shape == (28, 28)
        assert image.max() == 255 and image[0].max() < 64  # bright ink on black, a border
        rows = np.flatnonzero(image.max(axis=1) > 0)
        cols = np.flatnonzero(image.max(axis=0) > 0)
        assert 19 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 22  # longer side 20
        com = centre_of_mass(image.astype(float))
        assert abs(com[0] - 14) <= 1 and abs(com[1] - 14) <= 1  # where MNIST's is
        scores.append(similarity(image, digit))
    # Rotation by up to 10 degrees and 1-pixel shifts keep this well below 1.
    assert np.mean(scores) > 0.8 and min(scores) > 0.5


def test_the_same_digit_on_paper_or_on_a_board(sample):
    test, _ = sample
    rng = np.random.default_rng(1)
    for digit in test[:5]:
        state = rng.bit_generator.state
        paper = images.prepare(photo_like([digit], rng))
        rng.bit_generator.state = state
        board = images.prepare(photo_like([digit], rng, dark_background=True))
        assert paper.inverted and not board.inverted
        assert similarity(paper.digits[0].image, board.digits[0].image) > 0.9


def test_thin_pen_strokes_are_thickened(sample):
    test, _ = sample
    digit = test[0]
    thin = np.zeros((400, 400), np.uint8)
    big = np.asarray(Image.fromarray(digit).resize((400, 400), Image.Resampling.BICUBIC))
    # Keep only the middle of each stroke: a 1-pixel pen line on a large digit.
    from skimage.morphology import skeletonize

    thin[skeletonize(big > 128)] = 255
    image = one_digit(255 - thin)
    assert (image > 128).sum() > 0.6 * (digit > 128).sum()
    assert similarity(image, digit) > 0.6


def test_any_size_from_mnist_itself_to_a_large_photo(sample):
    test, _ = sample
    digit = test[3]
    assert similarity(one_digit(255 - digit), digit) > 0.85  # a 28x28 picture, dark on light
    wide = np.full((300, 2000), 230, np.uint8)
    wide[100:228, 900:1028] = 230 - np.asarray(
        Image.fromarray(digit).resize((128, 128), Image.Resampling.BICUBIC)) * 0.8
    assert similarity(one_digit(wide), digit) > 0.85


# --------------------------------------------------------------------------- files and modes


def _rgba_drawing(digit: np.ndarray, colour: tuple[int, int, int]) -> Image.Image:
    """A digit drawn in a paint program on a transparent canvas: the alpha is the ink."""
    alpha = Image.fromarray(digit).resize((200, 200), Image.Resampling.BICUBIC)
    picture = Image.new("RGBA", alpha.size, (*colour, 0))
    picture.putalpha(alpha)
    return picture


def _as(picture: Image.Image, kind: str) -> tuple[Image.Image, str, dict]:
    """The photo in another mode and format: (image, Pillow format, save options)."""
    gray = picture.convert("L")
    if kind == "png-rgb":
        return picture, "PNG", {}
    if kind == "png-gray":
        return gray, "PNG", {}
    if kind == "png-16bit":
        return Image.fromarray(np.asarray(gray).astype(np.uint16) * 257), "PNG", {}
    if kind == "png-palette":
        return picture.convert("P", palette=Image.Palette.ADAPTIVE), "PNG", {}
    if kind == "png-gray-alpha":
        return gray.convert("LA"), "PNG", {}
    if kind == "png-1bit":
        return gray.point(lambda v: 255 if v > 100 else 0).convert("1"), "PNG", {}
    if kind == "jpeg":
        return picture, "JPEG", {"quality": 80}
    if kind == "jpeg-gray":
        return gray, "JPEG", {"quality": 80}
    if kind == "bmp":
        return picture, "BMP", {}
    if kind == "tiff":
        return picture, "TIFF", {"compression": "tiff_lzw"}
    if kind == "tiff-16bit":
        return Image.fromarray(np.asarray(gray).astype(np.uint16) * 257), "TIFF", {}
    if kind == "gif":
        return picture, "GIF", {}
    raise AssertionError(kind)


KINDS = ["png-rgb", "png-gray", "png-16bit", "png-palette", "png-gray-alpha", "png-1bit",
         "jpeg", "jpeg-gray", "bmp", "tiff", "tiff-16bit", "gif"]


@pytest.mark.parametrize("kind", KINDS)
def test_formats_and_modes(sample, tmp_path, kind):
    test, _ = sample
    digit = test[7]
    photo = Image.fromarray(photo_like([digit], np.random.default_rng(2)))
    picture, image_format, options = _as(photo, kind)
    path = tmp_path / f"digit.{image_format.lower()}"
    picture.save(path, format=image_format, **options)
    prepared = images.prepare(path)
    assert prepared.original_size == photo.size
    assert len(prepared.digits) == 1
    assert similarity(prepared.digits[0].image, digit) > 0.75


@pytest.mark.parametrize("colour", [(20, 40, 120), (255, 255, 255), (0, 0, 0)])
def test_transparent_drawings(sample, tmp_path, colour):
    """Ink of any colour on a transparent canvas (whatever colour its hidden pixels have)."""
    test, _ = sample
    digit = test[11]
    path = tmp_path / "drawing.png"
    _rgba_drawing(digit, colour).save(path)
    assert similarity(one_digit(path), digit) > 0.85


def test_transparent_margins_take_the_paper_colour(sample):
    test, _ = sample
    digit = test[12]
    photo = Image.fromarray(photo_like([digit], np.random.default_rng(3))).convert("RGBA")
    alpha = np.full(photo.size[::-1], 255, np.uint8)
    alpha[:, :15] = 0  # a transparent (black) strip down the left side
    photo.putalpha(Image.fromarray(alpha))
    assert similarity(one_digit(photo), digit) > 0.75


def test_exif_orientation_is_applied(sample, tmp_path):
    test, _ = sample
    digit = test[13]
    photo = Image.fromarray(photo_like([digit], np.random.default_rng(4)))
    upright = one_digit(photo)
    # A phone stores the sensor's pixels sideways and says how to turn them in EXIF.
    sideways = photo.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    sideways.save(tmp_path / "phone.jpg", exif=exif, quality=90)
    assert similarity(one_digit(tmp_path / "phone.jpg"), upright) > 0.9


def test_an_enormous_photo_is_downscaled_first(sample, tmp_path):
    test, _ = sample
    digit = test[14]
    photo = Image.fromarray(photo_like([digit], np.random.default_rng(5))).convert("L")
    huge = photo.resize((photo.width * 20, photo.height * 20), Image.Resampling.BILINEAR)
    path = tmp_path / "huge.jpg"
    huge.save(path, quality=70)  # tens of megapixels
    del huge
    prepared = images.prepare(path)
    assert prepared.original_size == (photo.width * 20, photo.height * 20)
    assert max(prepared.gray.shape) <= images.WORK_SIDE
    assert similarity(prepared.digits[0].image, digit) > 0.75


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG file that claims to be width x height: a decompression bomb's header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [10_000, 100_000])
def test_decompression_bombs_are_refused(tmp_path, side):
    """100 megapixels is over Pillow's warning limit, 10 gigapixels over its error limit."""
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    with pytest.raises(DigitRecognizerError, match="bomb.png: image is too large to decode"):
        images.prepare(path)


# --------------------------------------------------------------------------- bad input


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n")
    with pytest.raises(DigitRecognizerError, match=r"notes.png: not an image \(expected a PNG"):
        images.prepare(path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(DigitRecognizerError, match=r"empty.jpg: the file is empty \(0 bytes\)"):
        images.prepare(tmp_path / "empty.jpg")


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_truncated_file(sample, tmp_path, image_format):
    photo = Image.fromarray(photo_like([sample[0][0]], np.random.default_rng(6)))
    buffer = io.BytesIO()
    photo.save(buffer, format=image_format)
    path = tmp_path / f"cut.{image_format.lower()}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(DigitRecognizerError, match=r"cannot decode the image \(damaged"):
        images.prepare(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DigitRecognizerError, match="nothing.png: file not found"):
        images.prepare(tmp_path / "nothing.png")
    with pytest.raises(DigitRecognizerError, match="is a directory, not an image"):
        images.prepare(tmp_path)


def _blank_pages():
    rng = np.random.default_rng(7)
    rows, cols = np.indices((400, 300)) / 400
    lit = 0.9 - 0.35 * cols - 0.1 * rows  # paper under a lamp on one side
    yield "white", np.full((400, 300), 255, np.uint8)
    yield "black", np.zeros((400, 300), np.uint8)
    yield "noisy paper", np.clip((0.85 + rng.normal(0, 0.05, (400, 300))) * 255, 0, 255)
    yield "uneven light", np.clip((lit + rng.normal(0, 0.03, lit.shape)) * 255, 0, 255)
    yield "board", np.clip((0.15 + 0.2 * rows + rng.normal(0, 0.04, lit.shape)) * 255, 0, 255)


@pytest.mark.parametrize("name,page", list(_blank_pages()), ids=[n for n, _ in _blank_pages()])
def test_blank_pages_have_no_ink(tmp_path, name, page):
    path = tmp_path / "blank.jpg"
    Image.fromarray(np.asarray(page, np.uint8)).save(path, quality=90)
    with pytest.raises(DigitRecognizerError, match="blank.jpg: no digit found"):
        images.prepare(path)


def test_a_speck_is_not_a_digit():
    page = np.full((300, 300), 240, np.uint8)
    page[150:153, 150:153] = 20
    with pytest.raises(DigitRecognizerError, match="no digit found"):
        images.prepare(page)


# --------------------------------------------------------------------------- numbers


def test_numbers_are_split_left_to_right(sample):
    test, labels = sample
    rng = np.random.default_rng(8)
    for _ in range(12):
        n = int(rng.integers(2, 11))
        rows = rng.choice(len(test), n, replace=False)
        photo = photo_like(list(test[rows]), rng, digit_px=(40, 110))
        prepared = images.prepare(photo)
        assert len(prepared.digits) == n, labels[rows]
        lefts = [d.box[0] for d in prepared.digits]
        assert lefts == sorted(lefts)
        scores = [similarity(d.image, test[r]) for d, r in zip(prepared.digits, rows, strict=True)]
        assert np.mean(scores) > 0.75


def _page_with(*shapes: tuple[int, int, int, int]) -> np.ndarray:
    """Dark rectangles (top, left, bottom, right) on light paper."""
    page = np.full((200, 400), 235, np.uint8)
    for top, left, bottom, right in shapes:
        page[top:bottom, left:right] = 30
    return page


def test_the_pieces_of_one_digit_are_merged():
    # A "5" written in two strokes: the bar apart above the body, and apart to its right.
    body = [(80, 60, 150, 70), (80, 60, 90, 100), (90, 92, 150, 102), (140, 60, 150, 100)]
    bar_above = _page_with(*body, (60, 65, 68, 110))
    bar_beside = _page_with(*body, (60, 104, 67, 130))
    for page in (bar_above, bar_beside):
        assert len(images.prepare(page).digits) == 1


def test_dashes_and_dots_between_digits_are_ignored(sample):
    test, _ = sample
    page = np.full((160, 700), 235, np.float32)
    for i, left in enumerate((20, 140, 400, 540)):
        digit = np.asarray(Image.fromarray(test[i]).resize((112, 112), Image.Resampling.BICUBIC))
        page[20:132, left:left + 112] -= digit * 0.8
    page[72:80, 280:360] = 30  # a dash
    page[124:132, 375:383] = 30  # a dot
    prepared = images.prepare(page.clip(0, 255).astype(np.uint8))
    assert len(prepared.digits) == 4
    for digit, source in zip(prepared.digits, test[:4], strict=True):
        assert similarity(digit.image, source) > 0.85


def test_a_row_of_scribbles_is_refused():
    page = np.full((100, 3000), 235, np.uint8)
    for i in range(60):
        page[20:80, 20 + i * 48:30 + i * 48] = 20
    with pytest.raises(DigitRecognizerError, match="60 separate marks"):
        images.prepare(page)


# --------------------------------------------------------------------------- examples


def test_the_shipped_examples_are_reproducible(tmp_path):
    written = picture_makers.make_examples(tmp_path)
    assert [p.name for p in written] == [p.name for p in images.example_images()]
    for fresh, shipped in zip(written, images.example_images(), strict=True):
        assert shipped.is_file(), f"{shipped} missing: digit-recognizer predict --make-examples"
        assert shipped.stat().st_size < 100_000
        a = np.asarray(Image.open(fresh).convert("RGBA"), np.int16)
        b = np.asarray(Image.open(shipped).convert("RGBA"), np.int16)
        assert a.shape == b.shape and np.abs(a - b).mean() < 1.0


def test_the_example_digits_are_ones_no_model_trains_on():
    # Sample test rows are MNIST test images; those chosen are also hidden test rows of the
    # local competition built from all of MNIST, none of its training rows.
    rows = reference.unseen_sample_rows()
    _, sample_test = data.sample_rows()
    competition_train, competition_test = data.competition_rows()
    mnist_index = data.MNIST_TRAIN_SIZE + sample_test
    assert len(rows) > 100
    assert not np.isin(mnist_index[rows], competition_train).any()
    others = np.setdiff1d(np.arange(len(sample_test)), rows)
    assert np.isin(mnist_index[others], competition_train).all()
    labels = data.read_answer_key(data.sample_dir() / "answer_key.csv.gz")
    numbers = list(images.example_numbers().values())
    chosen = picture_makers.example_rows(numbers, labels, rows)
    assert all(set(r) <= set(rows.tolist()) for r in chosen)
    assert ["".join(str(labels[i]) for i in r) for r in chosen] == numbers
    flat = [i for r in chosen for i in r]
    assert len(flat) == len(set(flat))  # no digit written twice


def test_the_handwriting_page_names_the_rows_of_its_example():
    labels = data.read_answer_key(data.sample_dir() / "answer_key.csv.gz")
    numbers = images.example_numbers()
    rows = picture_makers.example_rows(list(numbers.values()), labels,
                                       reference.unseen_sample_rows())
    ids = [str(r + 1) for r in rows[list(numbers).index("year_1969.jpg")]]
    readme = " ".join((ROOT / "docs" / "handwriting.md").read_text().split())
    assert f"sample test rows {', '.join(ids[:-1])} and {ids[-1]} (their `ImageId`)" in readme


def test_every_example_has_a_style():
    assert set(picture_makers.EXAMPLE_STYLES) == set(images.example_numbers())


def after_importing_the_reading_code(assertion: str) -> None:
    """Run `assertion` in a fresh interpreter that imported the reading code and the CLI."""
    code = ("import sys; import digit_recognizer.reading.images, "
            "digit_recognizer.reading.predict, digit_recognizer.demo.page, "
            "digit_recognizer.reading.predict_cli, digit_recognizer.cli as c; "
            "c.build_parser().parse_args(['predict', 'x.png']); " + assertion)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_reading_code_never_imports_the_picture_makers():
    after_importing_the_reading_code(
        "assert 'digit_recognizer.reading_checks.picture_makers' not in sys.modules")


def test_rendered_numbers_are_deterministic_and_labelled(sample):
    test, labels = sample
    first = picture_makers.render_numbers(test[:300], labels[:300], 12, seed=3)
    again = picture_makers.render_numbers(test[:300], labels[:300], 12, seed=3)
    other = picture_makers.render_numbers(test[:300], labels[:300], 12, seed=4)
    assert [r.number for r in first] == [r.number for r in again]
    assert all(np.array_equal(np.asarray(a.picture), np.asarray(b.picture))
               for a, b in zip(first, again, strict=True))
    assert [r.rows for r in first] != [r.rows for r in other]
    for item in first:
        assert 1 <= len(item.number) <= 5
        assert item.number == "".join(str(labels[r]) for r in item.rows)
    rows = [r for item in first for r in item.rows]
    assert len(rows) == len(set(rows))  # each digit written once
    assert [r.style for r in first[:3]] == list(picture_makers.STYLES)


def test_rendering_refuses_to_reuse_digits(sample):
    test, labels = sample
    with pytest.raises(ValueError, match="only 3 rows"):
        picture_makers.render_numbers(test[:3], labels[:3], 4, seed=0, lengths=(1, 1))


def test_the_shipped_examples_split_into_their_digits():
    for path in images.example_images():
        number = images.example_numbers()[path.name]
        assert len(images.prepare(path).digits) == len(number), path.name


def test_images_and_the_cli_start_without_tensorflow():
    after_importing_the_reading_code(
        "assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)")


# --------------------------------------------------------------------------- a sheet on a desk


@pytest.fixture(scope="module")
def desk_photos(sample):
    """Phone photos of numbers on a sheet lying on a desk (`picture_makers.desk_photo`)."""
    test, labels = sample
    rows = reference.unseen_sample_rows()
    return picture_makers.render_desk_photos(test[rows], labels[rows], 8, seed=3)


def test_a_sheet_on_a_desk_is_cut_out_and_gives_the_digits_written(desk_photos):
    """Read whole, the desk, the sheet's edges, a pen and ruled lines become marks; cut to the
    sheet, each photo gives the digits written, no more, no fewer."""
    cut = [len(images.prepare(r.picture).digits) for r in desk_photos]
    assert cut == [len(r.number) for r in desk_photos]
    whole = []
    for photo in desk_photos:
        try:
            whole.append(len(images.prepare(photo.picture, find_sheet=False).digits))
        except DigitRecognizerError:
            whole.append(0)
    assert sum(n == len(r.number) for n, r in zip(whole, desk_photos, strict=True)) <= 2


@pytest.mark.parametrize("tilt", [-7.0, 3.0, 6.0])
def test_a_tilted_sheet_is_straightened(tilt):
    """A sheet with a line of ink, turned by `tilt` degrees on a dark desk, comes back
    upright: the ink's rows span what the line's thickness does, not its slope."""
    sheet_picture = np.full((300, 420), 0.9, np.float32)
    sheet_picture[140:150, 60:360] = 0.1
    turned = Image.fromarray(sheet_picture).rotate(tilt, Image.Resampling.BILINEAR,
                                                   expand=True, fillcolor=0.25)
    desk = np.full((600, 800), 0.25, np.float32)
    top, left = (600 - turned.height) // 2, (800 - turned.width) // 2
    desk[top:top + turned.height, left:left + turned.width] = np.asarray(turned)
    found = sheet.find_sheet(desk)
    assert found is not None and abs(found.tilt - tilt) <= 1.0
    rows = np.flatnonzero((found.gray < 0.5).any(axis=1))
    assert 8 <= rows[-1] - rows[0] + 1 <= 16  # a slope of 300 px at 1 degree spans 5 more
    assert found.gray.min() < 0.2 and np.median(found.gray) > 0.8  # no desk, no edge


def test_pictures_without_a_sheet_are_read_whole(sample):
    """A tight crop, a scan, chalk on a board, a drawing: no sheet stands out, nothing is cut."""
    for path in images.example_images():
        gray, _, _ = images.open_image(path)
        assert sheet.find_sheet(gray) is None, path.name
    test, _ = sample
    photo = images.to_gray(photo_like(list(test[:3]), np.random.default_rng(1)))
    assert sheet.find_sheet(photo) is None


def test_a_desk_without_paper_has_no_digit():
    """A pen on a desk is a dark stroke, like a 1, but on no light surface: no digit."""
    desks = [r for r in picture_makers.render_non_digits(6, seed=4) if r.style == "desk"]
    assert desks
    for desk in desks:
        with pytest.raises(DigitRecognizerError, match="no digit found: no sheet of paper"):
            images.prepare(desk.picture, "desk.jpg")
