"""Bad and unusual input: each kind is a clear error naming the row, or one
documented rule (see ``sktransfer/io/_image.py`` and ``sktransfer/io/_text.py``)."""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import clone

from sktransfer import transform_report
from sktransfer.exceptions import ParameterError
from sktransfer.io import (
    ImageDataset,
    count_truncated,
    image_rows,
    load_rgb,
    text_rows,
    truncation_message,
)


def cosine(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def cat():
    """scikit-image's cat, 64×48 RGB uint8 (landscape: width > height)."""
    skimage_data = pytest.importorskip("skimage.data")
    return np.asarray(Image.fromarray(skimage_data.chelsea()).resize((64, 48)))


def encoded(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` pixels but holds almost none."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- collections


@pytest.mark.parametrize("make", [image_rows, text_rows], ids=["images", "texts"])
def test_a_dict_is_refused_not_iterated_for_its_keys(make):
    with pytest.raises(TypeError, match=r"got a dict: iterating it would give its keys.*"):
        make({"a": "x.jpg", "b": "y.jpg"})


@pytest.mark.parametrize("make", [image_rows, text_rows], ids=["images", "texts"])
def test_a_set_is_refused_because_it_has_no_order(make):
    with pytest.raises(TypeError, match=r"set has no order.*sorted\(X\)"):
        make({"x.jpg", "y.jpg"})


@pytest.mark.parametrize("make", [image_rows, text_rows], ids=["images", "texts"])
def test_a_generator_is_refused_with_the_fix(make):
    with pytest.raises(TypeError, match=r"got a generator.*pass a list, e.g. list\(X\)"):
        make(s for s in ["a", "b"])


def test_dict_values_and_a_series_from_a_dict_are_accepted():
    assert text_rows({"a": "x", "b": "y"}.values()).values == ["x", "y"]
    assert text_rows(pd.Series({"a": "x", "b": "y"})).index == ["a", "b"]
    with pytest.raises(TypeError, match=r"row 1 \(index 'b'\): expected a string"):
        text_rows(pd.Series({"a": "x", "b": 3}))


def test_a_zero_dimensional_array_is_refused():
    with pytest.raises(TypeError, match=r"0-d array; wrap the value in a list"):
        text_rows(np.array("one text"))


def test_a_torch_tensor_batch_or_row_says_how_to_convert_it():
    import torch

    with pytest.raises(TypeError, match=r"X is a Tensor.*permute\(0, 2, 3, 1\)"):
        image_rows(torch.zeros(2, 3, 8, 8))
    with pytest.raises(TypeError, match=r"row 1: cannot read an image from a Tensor.*permute"):
        image_rows([np.zeros((8, 8), np.uint8), torch.zeros(3, 8, 8)])


# ------------------------------------------------------- array pixel values


def test_a_dark_float_row_is_not_stretched_per_row(image_embedder, cat):
    bright = cat / 255.0
    dark = bright * 0.2  # max <= 1: the old per-row guess multiplied it by 255
    out = image_embedder.transform(np.stack([bright, dark]).astype(np.float32))
    as_uint8 = image_embedder.transform(np.round(np.stack([bright, dark]) * 255).astype(np.uint8))
    np.testing.assert_allclose(out, as_uint8, atol=2e-3)
    assert cosine(out[1], out[0]) < 0.99  # the dark picture stays dark


def test_float_pixels_in_0_255_are_an_error_saying_divide_by_255():
    X = np.stack([np.full((8, 8, 3), 0.5), np.full((8, 8, 3), 200.0)])
    with pytest.raises(ValueError, match=r"^row 1: float pixel values range from 200 to 200, .*"):
        image_rows(X)
    with pytest.raises(ValueError, match=r"divide by 255 \(img / 255\)"):
        image_rows(X)


def test_imagenet_normalised_floats_are_an_error_saying_undo_it(cat):
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    X = ((cat / 255.0 - mean) / std)[None].astype(np.float32)
    with pytest.raises(ValueError, match=r"^row 0: float pixel .*undo the normalisation"):
        image_rows(X)


def test_the_first_bad_row_of_a_batch_is_named_before_decoding():
    X = np.zeros((6, 4, 5), np.float32)
    X[2, 0, 0] = 1.5
    X[4, 0, 0] = 3.0
    with pytest.raises(ValueError, match=r"^row 2: float pixel values range from 0 to 1.5"):
        image_rows(X)


@pytest.mark.parametrize(
    "value, what", [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")]
)
def test_nan_and_infinity_are_an_error_naming_the_row(value, what):
    X = np.zeros((3, 4, 4, 3), np.float32)
    X[1, 2, 2, 0] = value
    with pytest.raises(ValueError, match=rf"^row 1: the image holds {what} values \(1 of 48\)"):
        image_rows(X)
    with pytest.raises(ValueError, match=rf"row 1 \(index 'b'\): the image holds {what}"):
        image_rows(pd.Series(list(X), index=["a", "b", "c"]))


def test_uint16_arrays_use_the_full_16_bit_range(image_embedder, cat):
    wide = cat.astype(np.uint16) * 257  # the same picture in 0..65535
    out = image_embedder.transform([wide, cat])
    assert cosine(out[0], out[1]) > 0.999
    batch = image_embedder.transform(wide[None])  # a batch follows the same rule
    assert cosine(batch[0], out[1]) > 0.999
    np.testing.assert_array_equal(np.asarray(load_rgb(wide, "row 0")), cat)


def test_other_integer_arrays_must_lie_in_0_255(image_embedder, cat):
    out = image_embedder.transform([cat.astype(np.int64), cat])
    np.testing.assert_allclose(out[0], out[1], atol=1e-5)
    too_big = cat.astype(np.int32)
    too_big[0, 0, 0] = 300
    with pytest.raises(ValueError, match=r"^row 1: int32 pixel values range from \d+ to 300"):
        image_rows([cat, too_big])
    negative = cat.astype(np.int16)
    negative[5, 5, 1] = -1
    with pytest.raises(ValueError, match=r"^row 0: int16 .* from -1 to \d+, outside .*uint16"):
        image_rows(negative[None])


def test_bool_images_are_0_and_255(image_embedder):
    mask = np.zeros((16, 16), bool)
    mask[4:12, 4:12] = True
    out = image_embedder.transform([mask, mask.astype(np.uint8) * 255])
    np.testing.assert_allclose(out[0], out[1], atol=1e-5)


def test_float_overshoot_within_half_a_step_is_clipped_beyond_is_an_error():
    x = np.full((4, 4), 1.0 + 0.4 / 255)
    assert np.asarray(load_rgb(x, "row 0")).max() == 255
    with pytest.raises(ValueError, match=r"np\.clip\(img, 0, 1\)"):
        load_rgb(np.full((4, 4), 1.0 + 1 / 255), "row 0")


def test_complex_and_object_pixels_are_a_type_error():
    with pytest.raises(TypeError, match=r"^row 0: an image array must hold bool, integer"):
        image_rows([np.zeros((4, 4), np.complex64)])


# ----------------------------------------------------------- shapes and sizes


def test_an_empty_image_is_an_error_naming_the_row():
    with pytest.raises(ValueError, match=r"^row 1: image is empty \(5×0 pixels\)"):
        image_rows([np.zeros((4, 4), np.uint8), np.zeros((0, 5), np.uint8)])
    with pytest.raises(ValueError, match=r"^X: every image is empty \(5×0 pixels\)"):
        image_rows(np.zeros((3, 0, 5), np.uint8))
    with pytest.raises(ValueError, match=r"^row 0: image is empty \(0×3 pixels\)"):
        image_rows([Image.new("RGB", (0, 3))])
    with pytest.raises(ValueError, match=r"^row 4: image is empty \(0×2 pixels\)"):
        load_rgb(np.zeros((2, 0), np.uint8), "row 4")


def test_a_one_pixel_image_is_resized_to_a_flat_colour(image_embedder):
    one = np.array([[[200, 30, 30]]], np.uint8)
    out = image_embedder.transform([one, np.broadcast_to(one, (32, 32, 3)).copy()])
    np.testing.assert_allclose(out[0], out[1], atol=1e-4)


def test_an_extreme_aspect_ratio_is_an_error_naming_the_row():
    with pytest.raises(ValueError, match=r"^row 0: image is 2000×1 pixels, more than 1000"):
        image_rows([np.zeros((1, 2000), np.uint8)])
    with pytest.raises(ValueError, match=r"^row 0: image is 1×3000 pixels, more than 1000"):
        load_rgb(encoded(Image.new("L", (1, 3000))), "row 0")
    image_rows([np.zeros((1, 1000), np.uint8)])  # 1000:1 is still allowed


def test_a_channels_first_batch_says_how_to_move_the_axis():
    with pytest.raises(ValueError, match=r"np\.moveaxis\(X, 1, -1\)"):
        image_rows(np.zeros((2, 3, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"^row 0: array of shape \(2, 8, 8\)"):
        image_rows([np.zeros((2, 8, 8), np.uint8)])


# ------------------------------------------------------------ Pillow modes


def _expected_gray(cat):
    return np.repeat(np.asarray(Image.fromarray(cat).convert("L"))[..., None], 3, -1)


def _mode_cases(cat):
    """Mode -> (image, expected RGB, largest mean and max absolute difference)."""
    rgb = Image.fromarray(cat)
    gray = rgb.convert("L")
    g = np.asarray(gray)
    grey3 = np.repeat(g[..., None], 3, -1)
    half = rgb.copy()
    alpha = np.zeros((48, 64), np.uint8)
    alpha[:, :32] = 255
    half.putalpha(Image.fromarray(alpha))
    white_right = cat.copy()
    white_right[:, 32:] = 255
    palette = rgb.convert("P")
    transparent_p = palette.copy()
    hidden = int(np.asarray(palette)[0, 0])
    transparent_p.info["transparency"] = hidden
    expect_tp = np.asarray(palette.convert("RGB")).copy()
    expect_tp[np.asarray(palette) == hidden] = 255
    exact, colour_space, quantised = (0, 0), (1.5, 3), (20, 120)
    return {
        # Dithered black and white: right on average, far per pixel.
        "1": (rgb.convert("1"), grey3, (130, 255)),
        "L": (gray, grey3, exact),
        "LA": (gray.convert("LA"), grey3, exact),
        "La": (gray.convert("LA").convert("La"), grey3, exact),
        "P": (palette, cat, quantised),
        "P+transparency": (transparent_p, expect_tp, exact),
        "PA": (rgb.convert("PA"), cat, quantised),
        "RGB": (rgb, cat, exact),
        "RGBA half transparent": (half, white_right, exact),
        "RGBa": (rgb.convert("RGBa"), cat, exact),
        "RGBX": (rgb.convert("RGBX"), cat, exact),
        "CMYK": (rgb.convert("CMYK"), cat, exact),
        "YCbCr": (rgb.convert("YCbCr"), cat, colour_space),
        "LAB": (rgb.convert("LAB"), cat, colour_space),
        "HSV": (rgb.convert("HSV"), cat, colour_space),
        "I;16": (Image.fromarray(g.astype(np.uint16) * 257), grey3, exact),
        "I;16B": (
            Image.frombytes("I;16B", gray.size, (g.astype(">u2") * 257).tobytes()),
            grey3,
            exact,
        ),
        "I": (Image.fromarray(g.astype(np.int32) * 257), grey3, exact),
        "F": (Image.fromarray(g.astype(np.float32) / 255), grey3, exact),
    }


MODES = [
    "1", "L", "LA", "La", "P", "P+transparency", "PA", "RGB", "RGBA half transparent",
    "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I;16", "I;16B", "I", "F",
]  # fmt: skip


@pytest.mark.parametrize("case", MODES)
def test_every_pillow_mode_becomes_the_expected_rgb(cat, case):
    img, expected, (mean_tol, max_tol) = _mode_cases(cat)[case]
    out = np.asarray(load_rgb(img, "row 0"))
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - expected.astype(np.int16))
    assert diff.mean() <= mean_tol and diff.max() <= max_tol
    assert abs(out.mean() - expected.mean()) < 3


def test_sixteen_bit_files_follow_the_uint16_rule_not_their_own_maximum(cat):
    g = np.asarray(Image.fromarray(cat).convert("L")).astype(np.uint16)
    dim = g * 4  # a dark 16-bit picture: values up to 1020 of 65535
    png = encoded(Image.fromarray(dim))
    from_file = np.asarray(load_rgb(png, "row 0"))
    from_array = np.asarray(load_rgb(dim, "row 0"))
    np.testing.assert_array_equal(from_file, from_array)
    assert from_file.max() == round(dim.max() / 257) <= 4  # not stretched to 255


def test_mode_f_outside_0_1_and_mode_i_outside_16_bit_are_errors(cat):
    g = np.asarray(Image.fromarray(cat).convert("L"))
    with pytest.raises(ValueError, match=r"^row 3 \(a mode F image\): .*divide by 255"):
        load_rgb(Image.fromarray(g.astype(np.float32)), "row 3")
    with pytest.raises(ValueError, match=r"^row 2: a 32-bit integer \(mode I\) .* from -5 to 95"):
        load_rgb(Image.fromarray(np.where(g < 100, -5, 95).astype(np.int32)), "row 2")


# ------------------------------------------------------------ files and bytes


def test_exif_orientation_is_honoured(image_embedder, cat, tmp_path):
    upright = Image.fromarray(cat)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # how a phone stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    tagged = tmp_path / "phone.jpg"
    stored.save(tagged, quality=95, exif=exif)
    untagged = encoded(stored, "JPEG", quality=95)
    reference = encoded(upright, "JPEG", quality=95)
    out = image_embedder.transform([str(tagged), Image.open(tagged), untagged, reference])
    assert load_rgb(str(tagged), "row 0").size == (64, 48)
    assert cosine(out[0], out[3]) > 0.99
    assert cosine(out[1], out[3]) > 0.99  # a PIL image keeps its tag too
    assert cosine(out[2], out[3]) < cosine(out[0], out[3]) - 0.05


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(path).n_frames == 3
    pixels = np.asarray(load_rgb(str(path), "row 0"))
    np.testing.assert_array_equal(pixels[0, 0], [255, 0, 0])
    webp = tmp_path / "anim.webp"
    frames[0].save(webp, save_all=True, append_images=frames[1:], lossless=True)
    assert np.asarray(load_rgb(str(webp), "row 0"))[0, 0].tolist() == [255, 0, 0]


def test_files_are_closed_after_decoding(tmp_path):
    frames = [Image.new("L", (8, 8), v) for v in (0, 128, 255)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    fd_dir = f"/proc/{os.getpid()}/fd"
    if not os.path.isdir(fd_dir):
        pytest.skip("needs /proc")
    before = len(os.listdir(fd_dir))
    kept = [load_rgb(str(path), f"row {i}") for i in range(20)]  # all alive
    assert len(os.listdir(fd_dir)) == before
    assert len(kept) == 20


def test_a_decompression_bomb_is_an_error_naming_the_row_and_the_parameter():
    limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(
        ValueError,
        match=r"^row 1: image is 10000×10000 = 100,000,000 pixels, more than "
        r"max_pixels=89,478,485 .*ImageEmbedder\(max_pixels=100_000_000\)",
    ):
        load_rgb(png_header(10_000, 10_000), "row 1")
    with pytest.raises(ValueError, match=r"^row 0: Pillow refuses .*MAX_IMAGE_PIXELS = None"):
        load_rgb(png_header(20_000, 20_000), "row 0", max_pixels=None)
    # max_pixels=None lifts this limit: the header passes and decoding is tried.
    with pytest.raises(ValueError, match=r"^row 1: cannot decode these bytes"):
        load_rgb(png_header(10_000, 10_000), "row 1", max_pixels=None)
    assert Image.MAX_IMAGE_PIXELS == limit  # Pillow's global is left alone


def test_max_pixels_is_a_parameter_of_the_embedder(image_embedder, tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (16, 16), (10, 200, 10)).save(path)
    strict = clone(image_embedder).set_params(max_pixels=100).fit([str(path)])
    with pytest.raises(ValueError, match=r"^row 0: '.*small.png': image is 16×16 = 256"):
        strict.transform([str(path)])
    loose = clone(image_embedder).set_params(max_pixels=None).fit([str(path)])
    assert loose.transform([str(path)]).shape == (1, 1280)
    with pytest.raises(ParameterError, match=r"max_pixels=0: use a positive int or None"):
        clone(image_embedder).set_params(max_pixels=0).fit([str(path)])


def test_truncated_and_empty_files_name_the_row(tmp_path, cat):
    data = encoded(Image.fromarray(cat), "JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"^row 0: cannot decode '.*cut.jpg'.*complete"):
        load_rgb(str(cut), "row 0")
    with pytest.raises(ValueError, match=r"^row 1: got empty bytes"):
        image_rows([data, b""])


def test_an_error_in_a_loader_worker_arrives_clean(image_embedder, tmp_path, cat):
    good = tmp_path / "good.png"
    Image.fromarray(cat).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    est = clone(image_embedder).set_params(num_workers=1, batch_size=2).fit([str(good)])
    rows = pd.Series([str(good)] * 3 + [str(bad)], index=list("abcd"))
    with pytest.raises(ValueError, match=r"^row 3 \(index 'd'\): cannot decode '.*bad.png'") as e:
        est.transform(rows)
    assert "Caught" not in str(e.value) and "Traceback" not in str(e.value)


def test_a_failing_preprocessing_names_the_row_and_the_size():
    def preprocess(img):
        raise ZeroDivisionError("division by zero")

    dataset = ImageDataset(image_rows([np.zeros((3, 5), np.uint8)]), preprocess)
    with pytest.raises(ValueError, match=r"^row 0: the model's preprocessing failed on this 5×3"):
        dataset[0]


# ------------------------------------------------------------------ texts


def test_a_lone_surrogate_is_an_error_naming_the_row(text_embedder):
    # object dtype: pandas' arrow-backed strings (with pyarrow installed) cannot hold a surrogate
    X = pd.Series(["fine", "bad \ud800 text"], index=["a", "b"], dtype=object)
    with pytest.raises(
        ValueError, match=r"^row 1 \(index 'b'\): the text holds '\\ud800' at position 4.*replace"
    ):
        text_embedder.transform(X)


def test_bytes_rows_say_how_to_decode_them():
    with pytest.raises(TypeError, match=r"^row 1: expected a string, got bytes.*decode\('utf-8'\)"):
        text_rows(["ok", b"raw"])


def test_nul_and_control_characters_are_dropped_by_the_tokenizer(text_embedder):
    out = text_embedder.transform(["a\x00b", "ab", "bell\x07ring", "bellring"])
    np.testing.assert_allclose(out[0], out[1], atol=1e-5)
    np.testing.assert_allclose(out[2], out[3], atol=1e-5)


def test_empty_and_blank_texts_embed_as_the_empty_input(text_embedder):
    out = text_embedder.transform(["", "   ", "\n", "word"])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[1], out[0], atol=1e-5)
    np.testing.assert_allclose(out[2], out[0], atol=1e-5)
    assert cosine(out[3], out[0]) < 0.99


def test_count_truncated_matches_where_the_model_cuts(text_embedder):
    model = text_embedder.model_
    window = model.max_seq_length
    fits = "a " * (window - 2)  # plus [CLS] and [SEP]: exactly the window
    over = "a " * (window - 1)
    texts = ["short", fits, over, "a " * 1000 + "tail"]
    assert count_truncated(texts, model.tokenizer, window) == [2, 3]
    out = text_embedder.transform([over, "a " * 1000 + "tail"])
    np.testing.assert_allclose(out[0], out[1], atol=1e-5)  # both cut at the window
    assert count_truncated([], model.tokenizer, window) == []


def test_truncation_message_names_the_rows():
    rows = text_rows(pd.Series(["x"] * 8, index=[f"r{i}" for i in range(8)]))
    text = truncation_message(rows, [0, 1, 2, 3, 4, 5, 7], 256)
    assert text.startswith("7 of 8 texts are longer than the model's window and were cut to 256")
    assert "row 0 (index 'r0'), row 1 (index 'r1')" in text and "and 2 more" in text


# ------------------------------------------------------- generated input


def _rule_allows(X: np.ndarray, as_list: bool = False) -> bool:
    """The documented rules, written out independently of the implementation
    (``as_list``: ``X`` passed as a list of its images)."""
    if X.dtype.kind not in "uifb" or X.ndim not in (3, 4):
        return False
    if X.ndim == 4 and X.shape[-1] not in (1, 3, 4):
        return False
    if X.ndim == 3 and X.shape[-1] in (1, 3, 4) and not as_list:
        return False  # one H×W×C image or N grey images that narrow: not guessed
    n, h, w = X.shape[:3]
    if n == 0 or h == 0 or w == 0 or max(h, w) > 1000 * min(h, w):
        return False
    if X.dtype.kind == "f":
        return bool(np.isfinite(X).all() and X.min() >= -0.5 / 255 and X.max() <= 1 + 0.5 / 255)
    if X.dtype.kind == "b" or X.dtype in (np.uint8, np.uint16):
        return True
    return bool(X.min() >= 0 and X.max() <= 255)


def _expected_uint8(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind == "b":
        return x.astype(np.uint8) * 255
    if x.dtype == np.uint16:
        return np.round(x / 257.0).astype(np.uint8)
    if x.dtype.kind == "f":
        return np.round(np.clip(x.astype(np.float64), 0, 1) * 255).astype(np.uint8)
    return x.astype(np.uint8)


def _arrays():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    dtypes = st.sampled_from(
        [
            *(np.uint8, np.uint16, np.int8, np.int16, np.int32, np.int64, np.uint32),
            *(np.float16, np.float32, np.float64, np.bool_, np.complex64),
        ]
    )
    shapes = st.one_of(
        st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 5)),
        st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
        st.tuples(st.integers(1, 2), st.just(1), st.integers(990, 1010)),
        st.tuples(st.integers(1, 4)),
    )

    def elements(dtype):
        if np.dtype(dtype).kind == "f":
            special = [0.0, 1.0, 0.5, -1e-3, 1.001, 1.5, 255.0, -2.0, np.nan, np.inf, -np.inf]
            return st.one_of(st.floats(0, 1, width=16), st.sampled_from(special))
        if np.dtype(dtype).kind == "c":
            return st.just(0j)
        if np.dtype(dtype).kind == "b":
            return st.booleans()
        info = np.iinfo(dtype)
        return st.one_of(
            st.integers(0, 255).filter(lambda v: v <= info.max),
            st.integers(int(info.min), int(info.max)),
        )

    return st.tuples(dtypes, shapes).flatmap(
        lambda ds: hnp.arrays(ds[0], ds[1], elements=elements(ds[0]))
    )


def test_generated_arrays_give_a_documented_error_or_the_documented_pixels():
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(X=_arrays())
    def check(X):
        for as_list in (False, True):
            allowed = _rule_allows(X, as_list)
            try:
                rows = image_rows(list(X) if as_list and X.ndim >= 3 else X)
                images = [load_rgb(v, rows.name(i)) for i, v in enumerate(rows.values)]
            except (ValueError, TypeError):
                assert not allowed or (as_list and len(X) == 0), X
                continue
            assert allowed, X
            for x, img in zip(X, images, strict=True):
                assert img.mode == "RGB" and img.size == (x.shape[1], x.shape[0])
                if x.ndim == 2 or x.shape[-1] == 1:
                    grey = _expected_uint8(x.reshape(x.shape[:2])).astype(np.int16)
                    got = np.asarray(img)[..., 0].astype(np.int16)
                    # floats may round the other way at exactly half a step
                    assert np.abs(got - grey).max() <= (x.dtype.kind == "f"), x

    check()


def test_generated_texts_are_refused_by_name_or_tokenized(text_embedder):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    tokenizer = text_embedder.model_.tokenizer
    any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
    row = st.one_of(
        any_text, any_text, st.binary(max_size=4), st.none(), st.integers(), st.floats()
    )

    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(texts=st.lists(row, min_size=0, max_size=5))
    def check(texts):
        try:
            rows = text_rows(texts)
        except (ValueError, TypeError) as exc:
            assert not texts or re.match(r"^(X holds no texts|row \d+: )", str(exc))
            return
        assert all(isinstance(t, str) for t in rows.values)
        ids = tokenizer(rows.values)["input_ids"]  # what the model gets: never a crash
        assert len(ids) == len(texts)
        assert count_truncated(rows.values, tokenizer, 256) == []

    check()


# ---------------------------------------------------------------- labels and weights
# Each error comes before any backbone loads: the targets are checked first.
LABEL_TEXTS = ["good", "bad", "fine", "awful"]


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (["pos", "neg", np.nan, "neg"], r"y is missing at row 2 \(1 of 4 rows\)"),
        (
            pd.Series(["pos", None, "neg", "pos"], index=list("abcd")),
            r"y is missing at row 1 \(index 'b'\)",
        ),
        (pd.Series([1.0, 0.0, np.nan, 1.0]), r"y is missing at row 2"),
        ([1, "neg", 0, "pos"], r"mixes labels of different kinds \(number, string: row 0: 1"),
        ([["a", "b"], ["c"], ["a"], []], r"MultiLabelBinarizer"),
        ([["a", "b"], ["c", "d"], ["a", "c"], ["b", "d"]], r"MultiLabelBinarizer"),
    ],
    ids=[
        "nan-in-list",
        "none-in-series",
        "nan-in-float-series",
        "mixed-kinds",
        "ragged-lists",
        "label-lists",
    ],
)
def test_bad_labels_are_named(y, match):
    from sktransfer import TextClassifier

    with pytest.raises(ValueError, match=match):
        TextClassifier(max_epochs=1).fit(LABEL_TEXTS, y)


@pytest.mark.parametrize("bad", [-1.0, np.inf])
def test_negative_or_infinite_sample_weight_is_refused(bad):
    from sktransfer import TextClassifier

    weights = [1.0, 1.0, bad, 1.0]
    with pytest.raises(ValueError, match=r"sample_weight|finite"):
        TextClassifier(max_epochs=1).fit(LABEL_TEXTS, ["a", "b", "a", "b"], sample_weight=weights)


def test_labels_of_one_kind_keep_their_type(text_embedder):
    from sktransfer import TextClassifier

    clf = TextClassifier(max_epochs=2, random_state=0).fit(LABEL_TEXTS, [1, 0, 1, 0])
    assert clf.classes_.dtype.kind == "i" and clf.predict(LABEL_TEXTS[:1])[0] in (0, 1)


def _label_checked_classifiers():
    """Every public classifier, built so that reaching a backbone would fail: the
    labels must be refused before anything loads."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer

    from sktransfer import (
        DistilledClassifier,
        ImageClassifier,
        SetFitClassifier,
        TextClassifier,
        TextEmbedder,
    )
    from sktransfer.fusion import make_late_fusion
    from sktransfer.similarity import PrototypeClassifier, ZeroShotClassifier

    numbers = np.arange(8.0).reshape(4, 2)
    nowhere = TextEmbedder(model="no-such-model-anywhere")
    teacher = LogisticRegression().fit(numbers, ["neg", "pos", "neg", "pos"])
    return {
        "PrototypeClassifier": (PrototypeClassifier(), numbers),
        "ZeroShotClassifier(labels)": (
            ZeroShotClassifier(labels=["neg", "pos"], embedder=nowhere),
            LABEL_TEXTS,
        ),
        "ZeroShotClassifier": (ZeroShotClassifier(embedder=nowhere), LABEL_TEXTS),
        "DistilledClassifier": (
            DistilledClassifier(teacher=teacher, student=LogisticRegression()),
            numbers,
        ),
        "SetFitClassifier": (SetFitClassifier(embedder=nowhere), LABEL_TEXTS),
        "TextClassifier": (TextClassifier(embedder=nowhere), LABEL_TEXTS),
        "ImageClassifier": (ImageClassifier(embedder="no-such-model-anywhere"), numbers),
        "make_late_fusion": (make_late_fusion([("a", FunctionTransformer())], cv=2), numbers),
    }


# Classes fixed before fit (ZeroShotClassifier's labels, a teacher's classes) need
# not all appear in y.
FIXED_CLASSES = ("ZeroShotClassifier(labels)", "DistilledClassifier")


LABEL_CASES = {
    "missing": (["pos", "neg", None, "neg"], r"y is missing at row 2 \(1 of 4 rows\)"),
    "missing-in-series": (
        pd.Series(["pos", np.nan, "neg", "pos"], index=list("abcd")),
        r"y is missing at row 1 \(index 'b'\)",
    ),
    "mixed-kinds": (
        [1, "neg", 0, "pos"],
        r"mixes labels of different kinds \(number, string: row 0: 1",
    ),
    "one-class": (["pos"] * 4, r"y holds 1 class \('pos'\) but a classifier needs at least 2"),
}


@pytest.mark.parametrize(
    ("name", "case"),
    [
        (name, case)
        for name in _label_checked_classifiers()
        for case in LABEL_CASES
        if not (case == "one-class" and name in FIXED_CLASSES)
    ],
)
def test_every_classifier_applies_the_label_rule(name, case):
    """Missing labels named by row, mixed kinds refused (not turned into strings),
    one class refused: the same rule and words for every classifier."""
    y, match = LABEL_CASES[case]
    est, X = _label_checked_classifiers()[name]
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


# ---------------------------------------------------------------- on_error
def test_on_error_nan_keeps_rows_aligned_and_names_the_failures(text_embedder):
    from sklearn.base import clone

    emb = clone(text_embedder).set_params(on_error="nan").fit(["x"])
    X = pd.Series(["good food", None, "fine", 3], index=list("abcd"))
    with pytest.warns(UserWarning, match=r"2 of 4 rows could not be embedded and are NaN"):
        with transform_report() as report:
            out = emb.transform(X)
    assert out.shape == (4, 384)
    assert np.isnan(out).all(axis=1).tolist() == [False, True, False, True]
    assert [f["name"] for f in report.failed_rows] == ["row 1 (index 'b')", "row 3 (index 'd')"]
    assert "text is missing" in report.failed_rows[0]["cause"]
    # the usable rows get exactly what they get alone
    np.testing.assert_allclose(
        out[[0, 2]], text_embedder.transform(["good food", "fine"]), atol=1e-5
    )


def test_on_error_zero_for_images_decodes_each_row_once_up_front(image_embedder, tmp_path):
    from sklearn.base import clone

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    good = np.zeros((20, 20, 3), np.uint8)
    emb = clone(image_embedder).set_params(on_error="zero").fit([good])
    with pytest.warns(UserWarning, match=r"2 of 3 rows .* zero vectors"):
        with transform_report() as report:
            out = emb.transform([good, str(broken), np.full((20, 20), 2.0)])
    assert (np.abs(out).sum(axis=1) == 0).tolist() == [False, True, True]
    assert [f["row"] for f in report.failed_rows] == [1, 2]
    assert "cannot decode" in report.failed_rows[0]["cause"]
    assert "outside 0..1" in report.failed_rows[1]["cause"]


def test_on_error_raise_is_the_default_and_unknown_values_are_refused(text_embedder):
    from sktransfer import TextEmbedder

    with pytest.raises(ValueError, match=r"row 1: text is missing"):
        text_embedder.transform(["a", None])
    with pytest.raises(ParameterError, match=r"on_error='skip': use 'raise'"):
        TextEmbedder(on_error="skip").fit(["a"])


def test_on_error_of_an_embedder_that_is_not_a_string_is_refused_naming_it():
    from sktransfer import WordVectorEmbedder

    with pytest.raises(ValueError, match=r"on_error=\['nan'\]: use 'raise'.*'nan' or 'zero'"):
        WordVectorEmbedder(dim=4, on_error=["nan"]).fit(["a b"])


def test_failed_rows_never_reach_the_cache(text_embedder):
    from sklearn.base import clone

    from sktransfer import EmbeddingCache

    cache = EmbeddingCache()
    emb = clone(text_embedder).set_params(on_error="nan", cache=cache).fit(["x"])
    with pytest.warns(UserWarning):
        emb.transform(["kept", None])
    assert len(cache) == 1


def test_texts_longer_than_the_window_are_counted_in_a_warning(text_embedder):
    long = "word " * 400
    with pytest.warns(UserWarning, match=r"1 of 3 texts are longer than the model's window") as rec:
        with transform_report() as report:
            text_embedder.transform(["short", long, "also short"])
    assert "row 1" in str(rec[0].message) and "256 tokens" in str(rec[0].message)
    assert report.truncated_rows == [1]
    # positions in the input, past the rows set aside
    lenient = clone(text_embedder).set_params(on_error="nan").fit(["x"])
    with pytest.warns(UserWarning), transform_report() as report:
        lenient.transform([None, "short", long])
    assert report.truncated_rows == [2] and [f["row"] for f in report.failed_rows] == [0]


# ---------------------------------------------------------------- through the embedders
# The generated inputs above, end to end: each transform either raises one of
# the documented errors naming a row (or X), or returns finite vectors, one per
# row; with on_error="nan" it never raises for a row, and only the refused rows
# are NaN.


def test_generated_texts_through_the_text_embedder(text_embedder):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from sklearn.base import clone

    lenient = clone(text_embedder).set_params(on_error="nan").fit(["x"])
    any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
    row = st.one_of(any_text, any_text, any_text, st.none(), st.integers(), st.binary(max_size=3))

    @settings(
        max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(texts=st.lists(row, min_size=1, max_size=4))
    def check(texts):
        try:
            out = text_embedder.transform(texts)
        except (ValueError, TypeError) as exc:
            assert re.match(r"^row \d+: ", str(exc)), exc
        else:
            assert out.shape == (len(texts), 384) and np.isfinite(out).all()
        with warnings.catch_warnings(), transform_report() as report:
            warnings.simplefilter("ignore", UserWarning)
            out = lenient.transform(texts)
        refused = {f["row"] for f in report.failed_rows}
        assert np.isnan(out).all(axis=1).tolist() == [i in refused for i in range(len(texts))]
        assert np.isfinite(np.delete(out, sorted(refused), axis=0)).all()

    check()


def test_generated_arrays_through_the_image_embedder(image_embedder):
    from hypothesis import HealthCheck, given, settings
    from sklearn.base import clone

    lenient = clone(image_embedder).set_params(on_error="nan").fit([np.zeros((8, 8), np.uint8)])

    @settings(
        max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(X=_arrays())
    def check(X):
        if X.ndim < 3 or len(X) == 0 or 0 in X.shape:
            return  # not a batch of images: refused as a whole, tested above
        try:
            out = image_embedder.transform(X)
        except (ValueError, TypeError) as exc:
            assert re.match(r"^(row \d+|X)\b", str(exc)), exc
        else:
            assert out.shape == (len(X), 1280) and np.isfinite(out).all()
        try:
            with warnings.catch_warnings(), transform_report() as report:
                warnings.simplefilter("ignore", UserWarning)
                out = lenient.transform(list(X))
        except (ValueError, TypeError) as exc:  # X itself refused (e.g. complex dtype rows)
            assert re.match(r"^(row \d+|X)\b", str(exc)), exc
            return
        refused = {f["row"] for f in report.failed_rows}
        assert np.isnan(out).all(axis=1).tolist() == [i in refused for i in range(len(X))]
        assert np.isfinite(np.delete(out, sorted(refused), axis=0)).all()

    check()


# ------------------------------------------------ parameters and ambiguous input
# Parameters are checked in fit (nothing happens in __init__), each error naming
# the parameter, its value and the fix; input whose meaning is ambiguous is
# refused with the ways to say what it is.
EIGHT = np.zeros((1, 8, 8, 3), np.uint8)


@pytest.mark.parametrize("size", [0, -5, 2.5])
def test_image_size_must_be_a_positive_int(size):
    from sktransfer import ImageEmbedder

    est = ImageEmbedder(image_size=size)  # stored as given; checked in fit
    with pytest.raises(ValueError, match=rf"^image_size={size}: use a positive number of pixels"):
        est.fit(EIGHT)


def test_image_size_from_numpy_is_shown_as_a_plain_number():
    from sktransfer import ImageEmbedder

    with pytest.raises(ValueError, match=r"^image_size=0: use a positive number of pixels"):
        ImageEmbedder(image_size=np.int64(0)).fit(EIGHT)


@pytest.mark.parametrize("layer", [5, 99, -6])
def test_a_timm_layer_out_of_range_names_the_stages(layer):
    from sktransfer import ImageEmbedder

    with pytest.raises(
        ValueError, match=rf"^layer={layer}: this model has 5 stages; pass an index from 0 to 4"
    ):
        ImageEmbedder(image_size=32, layer=layer).fit(EIGHT)
    assert ImageEmbedder(image_size=32, layer=-5).fit(EIGHT).n_features_out_ == 16


@pytest.mark.parametrize("model", ["efficientnet_lite0", "resnet18"])
@pytest.mark.parametrize("given", ["gone/lite0.pth", "lite0.safetensors", "weights.bin", "dir/"])
def test_a_weights_path_that_does_not_exist_says_so(model, given, tmp_path, monkeypatch):
    from sktransfer import ImageEmbedder

    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    why = "it is a directory, not a file" if given == "dir/" else "no such file"
    with pytest.raises(ValueError, match=rf"^weights='{re.escape(given)}': {why}\. .*current"):
        ImageEmbedder(model=model, weights=given, image_size=32).fit(EIGHT)


def test_a_weights_file_holding_code_names_the_file_and_is_not_run(tmp_path):
    import torch

    from sktransfer import ImageEmbedder

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "lite0.pth"
    torch.save({"conv_stem.weight": Payload()}, path)
    with pytest.raises(ValueError) as caught:
        ImageEmbedder(weights=str(path), image_size=32).fit(EIGHT)
    message = str(caught.value)
    assert message.startswith(f"weights={str(path)!r}: the file holds code as well as tensors")
    assert "weights_only=False" in message and "UnpicklingError" not in message
    assert not marker.exists()
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file" * 4)
    with pytest.raises(ValueError, match=r"^weights='.*junk.pt': cannot read the file as torch"):
        ImageEmbedder(weights=str(junk), image_size=32).fit(EIGHT)


@pytest.mark.parametrize("cls", ["ImageEmbedder", "TextEmbedder", "StaticEmbedder"])
def test_an_empty_model_name_is_named_in_fit(cls):
    import sktransfer

    est = getattr(sktransfer, cls)().set_params(model="")
    X = EIGHT if cls == "ImageEmbedder" else ["a text"]
    with pytest.raises(ParameterError, match=r"^model='': the name is empty; pass a model name"):
        est.fit(X)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.array([["a", "b"], ["c", "d"]]), r"^X is a 2-D array of shape \(2, 2\).*X\[:, 0\]"),
        (
            np.array([["a", "b"], ["c", "d"]], dtype=object),
            r"^X is a 2-D array of shape \(2, 2\).*X\[:, 0\]",
        ),
        ([["a", "b"], ["c", "d"], ["e", "f"]], r"^X is 2-D: a list of 3 lists.*row\[0\]"),
        ((("a", "b"), ("c", "d")), r"^X is 2-D: a tuple of 2 tuples.*df\['col'\]"),
    ],
    ids=["str-array", "object-array", "list-of-lists", "tuple-of-tuples"],
)
def test_texts_given_as_a_table_say_it_is_2d_and_which_column_to_pass(X, match, text_embedder):
    with pytest.raises(ValueError, match=match) as caught:
        text_embedder.transform(X)
    assert "astype(str)" not in str(caught.value)
    with pytest.raises(ValueError, match=match):
        text_rows(X, check_each=False)  # the shape of X is checked whatever on_error says


def test_a_list_row_in_texts_is_named_without_astype_advice():
    with pytest.raises(TypeError, match=r"^row 1: expected a string, got a list of 2 values") as c:
        text_rows(["one text", ["two", "parts"]])
    assert "astype(str)" not in str(c.value)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_one_hxwxc_array_is_refused_with_how_to_pass_it(channels, image_embedder, cat):
    img = cat if channels == 3 else np.zeros((48, 64, channels), np.uint8)
    with pytest.raises(ValueError) as caught:
        image_embedder.transform(img)
    message = str(caught.value)
    assert message.startswith(f"X is a 3-D array of shape (48, 64, {channels}): one H×W×C image")
    assert "[img]" in message and "img[None]" in message and "X[..., None]" in message
    with pytest.raises(ValueError, match=r"^X is a 3-D array"):
        image_rows(img, check_each=False)


def test_the_ways_to_pass_one_image_or_grey_images_agree(image_embedder, cat, digits_images):
    one = image_embedder.transform([cat])
    np.testing.assert_allclose(image_embedder.transform(cat[None]), one, atol=1e-5)
    grey = digits_images[0][:3, :, :3]  # three images 3 pixels wide: ambiguous as they are
    with pytest.raises(ValueError, match=r"^X is a 3-D array of shape \(3, 28, 3\)"):
        image_embedder.transform(grey)
    as_channel = image_embedder.transform(grey[..., None])
    np.testing.assert_allclose(image_embedder.transform(list(grey)), as_channel, atol=1e-5)
    stack = digits_images[0][:2]  # N×H×W with a last axis that is no channel count
    assert image_embedder.transform(stack).shape == (2, 1280)


def test_a_closed_pil_image_names_the_row(image_embedder, cat, tmp_path):
    path = tmp_path / "cat.png"
    Image.fromarray(cat).save(path)
    with Image.open(path) as opened:
        pass  # the with block closes it
    closed = Image.fromarray(cat)
    closed.close()
    for row in (closed, opened):
        with pytest.raises(ValueError, match=r"^row 1: this PIL\.Image is closed.*img\.copy\(\)"):
            image_rows([cat, row])
    lenient = clone(image_embedder).set_params(on_error="nan")
    with pytest.warns(UserWarning, match=r"1 of 2 rows"), transform_report() as report:
        out = lenient.fit([cat]).transform([cat, closed])
    assert np.isnan(out[1]).all() and "is closed" in report.failed_rows[0]["cause"]
    lazy = Image.open(path)  # opened, not yet decoded: usable
    np.testing.assert_allclose(
        image_embedder.transform([lazy]), image_embedder.transform([cat]), atol=1e-5
    )


def test_a_whole_number_is_an_int_python_or_numpy_never_a_bool_or_float():
    """The one rule behind batch_size, num_workers, image_size, dim, cv and repeats."""
    from sktransfer._whole import is_whole

    assert is_whole(3, 1) and is_whole(np.int64(3), 1) and is_whole(0, 0)
    assert not any(is_whole(v, 1) for v in (True, 0, -2, 2.0, np.float64(3), "3", None))


def test_a_quoted_error_is_its_first_line_or_its_message_on_one_line():
    """The one way a library's error is quoted in ours (weights files, evaluate's
    failures) or recorded for an unusable row (failed_rows_, skipped rows)."""
    from sktransfer._plain import first_line, one_line
    from sktransfer.evaluate._crossval import failure
    from sktransfer.io._rows import failure as row_failure

    exc = ValueError("  bad pixels\n  in row 3  ")
    assert first_line(exc) == "bad pixels" and one_line(exc) == "bad pixels in row 3"
    assert first_line(ValueError()) == "" and failure(ValueError()) == "ValueError"
    assert failure(exc) == "ValueError: bad pixels"
    assert row_failure(3, "row 3", exc)["cause"] == "bad pixels in row 3"
