"""numpy-only resizing."""

from __future__ import annotations

import numpy as np
import pytest

from intu_desktop.thumbnails.resample import decimate, fit, resize, to_rgb8


@pytest.mark.parametrize(
    ("rows", "columns", "size", "aspect", "expected"),
    [
        (512, 512, 128, 1.0, (128, 128)),
        (480, 640, 128, 1.0, (96, 128)),
        (1024, 256, 128, 1.0, (128, 32)),
        (1, 5000, 128, 1.0, (1, 128)),  # the short side never drops to 0
        (5000, 1, 64, 1.0, (64, 1)),
        (64, 64, 128, 2.0, (128, 64)),  # tall pixels
        (10, 10, 1, 1.0, (1, 1)),
    ],
)
def test_fit(rows: int, columns: int, size: int, aspect: float, expected: tuple[int, int]) -> None:
    assert fit(rows, columns, size, aspect) == expected


def test_area_average_down() -> None:
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    out = resize(image, 2, 2)
    assert out.tolist() == [[2.5, 4.5], [10.5, 12.5]]


def test_nearest_up_and_color() -> None:
    image = np.array([[[0, 0, 0], [1, 1, 1]]], dtype=np.float32)  # 1 x 2 x 3
    out = resize(image, 2, 4)
    assert out.shape == (2, 4, 3)
    assert out[:, :, 0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1]]


def test_decimate_keeps_at_least_twice_the_target() -> None:
    frame = np.zeros((4000, 3000), dtype=np.uint16)
    out = decimate(frame, 128)
    assert 256 <= max(out.shape) < 600
    assert decimate(frame[:100, :100], 128).shape == (100, 100)


def test_to_rgb8() -> None:
    out = to_rgb8(np.array([[0.0, 0.5, 1.0, 2.0]], dtype=np.float32))
    assert out.shape == (1, 4, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert out[0, :, 0].tolist() == [0, 128, 255, 255]
