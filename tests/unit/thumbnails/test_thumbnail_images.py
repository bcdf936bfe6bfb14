"""Thumbnails of real image objects across photometrics and transfer syntaxes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from intu_desktop.thumbnails import Rendered, render_thumbnail

IMAGES = [
    "CT_small.dcm",  # rescale slope/intercept, no window
    "MR_small.dcm",  # window center/width
    "MR_small_RLE.dcm",  # RLE Lossless
    "MR_small_bigendian.dcm",  # Explicit VR Big Endian, grayscale
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS Lossless
    "JPEGLSNearLossless_16.dcm",  # JPEG-LS near-lossless, tall image
    "JPEG2000.dcm",  # JPEG 2000, 256 x 1024
    "JPGExtended.dcm",  # JPEG Extended 12-bit
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG Baseline, YBR_FULL
    "SC_ybr_full_422_uncompressed.dcm",  # native YBR_FULL_422
    "examples_palette.dcm",  # PALETTE COLOR
    "rtdose.dcm",  # 32-bit multi-frame dose grid
    "image_dfl.dcm",  # Deflated Explicit VR Little Endian
    "SC_rgb.dcm",  # the rest need the pydicom-data package
    "SC_rgb_16bit.dcm",
    "US1_J2KR.dcm",  # JPEG 2000 lossless, YBR_RCT
    "OBXXXX1A.dcm",  # PALETTE COLOR ultrasound
    "emri_small.dcm",  # enhanced MR, 10 frames
    "ExplVR_BigEnd.dcm",  # Explicit VR Big Endian, RGB
    "MR2_J2KR.dcm",  # 1024 x 1024 JPEG 2000
    "color3d_jpeg_baseline.dcm",  # 120-frame YBR_FULL_422 JPEG baseline
    "mlut_18.dcm",  # Modality LUT Sequence
    "vlut_04.dcm",  # VOI LUT Sequence
]


def _check_image(rendered: Rendered, size: int) -> np.ndarray:
    assert rendered.kind == "image"
    assert rendered.error is None
    assert rendered.summary
    pixels = rendered.pixels
    assert pixels is not None
    assert pixels.dtype == np.uint8
    assert pixels.ndim == 3 and pixels.shape[2] == 3
    assert pixels.flags.c_contiguous
    assert max(pixels.shape[:2]) == size
    assert min(pixels.shape[:2]) >= 1
    assert float(pixels.std()) > 5.0
    return pixels


@pytest.mark.parametrize("name", IMAGES)
def test_image_thumbnail(data: Callable[[str], Path], name: str) -> None:
    path = data(name)
    pixels = _check_image(render_thumbnail(path), 128)
    ds = dcmread(path, stop_before_pixels=True)
    if "PixelAspectRatio" not in ds and "PixelSpacing" not in ds:
        # Aspect kept: the output's shape follows rows x columns.
        expected = ds.Rows / ds.Columns
        assert pixels.shape[0] / pixels.shape[1] == pytest.approx(expected, rel=0.05, abs=0.02)


@pytest.mark.parametrize("size", [1, 32, 100, 256])
def test_longest_side_equals_requested_size(data: Callable[[str], Path], size: int) -> None:
    rendered = render_thumbnail(data("examples_palette.dcm"), size=size)  # 800 x 350
    assert rendered.pixels is not None
    assert rendered.pixels.shape[1] == size
    assert rendered.pixels.shape[0] == max(1, round(350 * size / 800))


@pytest.mark.parametrize(
    "name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_ybr_full_422_uncompressed.dcm", "SC_rgb.dcm"]
)
def test_color_bands_come_out_as_rgb(data: Callable[[str], Path], name: str) -> None:
    # These 100 x 100 test images start with a pure red band, then light red,
    # then green: a YBR image left unconverted would not be red there.
    rendered = render_thumbnail(data(name), size=100)
    assert rendered.pixels is not None
    red = rendered.pixels[2, 50].astype(int)
    green = rendered.pixels[25, 50].astype(int)
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert green[1] > 200 and green[0] < 60 and green[2] < 60


def test_palette_color_is_colored(data: Callable[[str], Path]) -> None:
    rendered = render_thumbnail(data("examples_palette.dcm"))
    assert rendered.pixels is not None
    channels = rendered.pixels.astype(int)
    assert np.abs(channels[..., 0] - channels[..., 1]).max() > 40


def test_monochrome1_is_inverted(data: Callable[[str], Path], write) -> None:
    original = render_thumbnail(data("MR_small.dcm"))
    ds = dcmread(data("MR_small.dcm"))
    ds.PhotometricInterpretation = "MONOCHROME1"
    inverted = render_thumbnail(write(ds, "mono1.dcm"))
    assert original.pixels is not None and inverted.pixels is not None
    difference = np.abs(inverted.pixels.astype(int) - (255 - original.pixels.astype(int)))
    assert difference.max() <= 1


def test_multiframe_thumbnail_shows_the_middle_frame(gray_image, write) -> None:
    # Frame 2, the middle of 0..4, is the only one that is not flat.
    ds = gray_image(rows=8, columns=8, frames=5)
    stack = np.zeros((5, 8, 8), dtype=np.uint16)
    stack[2] = np.arange(64, dtype=np.uint16).reshape(8, 8) * 50
    ds.set_pixel_data(stack, "MONOCHROME2", 12)
    rendered = render_thumbnail(write(ds), size=8)
    assert rendered.pixels is not None
    assert float(rendered.pixels.std()) > 20
    assert "5 frames" in rendered.summary


def test_pixel_aspect_ratio_is_kept(gray_image, write) -> None:
    ds = gray_image(rows=64, columns=64)
    ds.PixelAspectRatio = [2, 1]  # each pixel twice as tall as wide (PS3.3 C.7.6.3.1.7)
    rendered = render_thumbnail(write(ds), size=128)
    assert rendered.pixels is not None
    assert rendered.pixels.shape[:2] == (128, 64)


def test_downscale_keeps_orientation(gray_image, write) -> None:
    # The ramp rises left to right; a transposed or flipped thumbnail would not.
    rendered = render_thumbnail(write(gray_image(rows=300, columns=600)), size=64)
    assert rendered.pixels is not None
    row = rendered.pixels[16, :, 0].astype(int)
    assert rendered.pixels.shape[:2] == (32, 64)
    assert row[0] < row[31] < row[-1]
    assert np.all(np.diff(row) >= 0)


def test_float_pixel_data_with_nan(new_ds, write) -> None:
    # Parametric maps carry Float Pixel Data (7FE0,0008); NaN and inf must not leak.
    ds = new_ds("1.2.840.10008.5.1.4.1.1.30", "MR")
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated = 32, 48, 1, 32
    ds.PhotometricInterpretation = "MONOCHROME2"
    values = np.linspace(-1, 1, 32 * 48, dtype="<f4").reshape(32, 48)
    values[0, 0], values[1, 1] = np.nan, np.inf
    ds.FloatPixelData = values.tobytes()
    pixels = _check_image(render_thumbnail(write(ds)), 128)
    assert pixels.shape[:2] == (85, 128)
