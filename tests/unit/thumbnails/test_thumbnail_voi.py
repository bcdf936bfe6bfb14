"""Modality LUT, VOI (window, VOI LUT function, VOI LUT Sequence) and render_frame."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from intu_desktop.thumbnails import RenderError, frame_count, render_frame
from intu_desktop.thumbnails.window import apply_window


def _lut_item(first_mapped: int, table: list[int], as_words: bool) -> Dataset:
    # LUT Data is US or OW (PS3.3 C.11.1); both spellings occur in the wild.
    item = Dataset()
    item.add_new(0x00283002, "US", [len(table), first_mapped, 16])
    if as_words:
        item.add_new(0x00283006, "OW", np.asarray(table, dtype="<u2").tobytes())
    else:
        item.add_new(0x00283006, "US", table)
    return item


def test_window_functions_follow_ps3_3() -> None:
    x = np.array([-100.0, 0.0, 49.5, 50.0, 100.0, 200.0], dtype=np.float32)
    linear = apply_window(x, 50, 101, "LINEAR")
    assert linear[0] == 0.0 and linear[-1] == 1.0
    assert linear[3] == pytest.approx(0.505, abs=1e-3)
    exact = apply_window(x, 50, 100, "LINEAR_EXACT")
    assert exact[1] == 0.0 and exact[3] == pytest.approx(0.5) and exact[4] == 1.0
    sigmoid = apply_window(x, 50, 100, "SIGMOID")
    assert sigmoid[3] == pytest.approx(0.5)
    assert 0 < sigmoid[0] < sigmoid[1] < sigmoid[3] < sigmoid[4] < sigmoid[5] < 1
    threshold = apply_window(x, 50, 1, "LINEAR")
    assert threshold.tolist() == [0, 0, 0, 1, 1, 1]


def test_window_info_from_the_file(data: Callable[[str], Path]) -> None:
    pixels, info = render_frame(data("MR_small.dcm"))
    assert pixels.shape == (64, 64, 3) and pixels.dtype == np.uint8
    assert (info.center, info.width) == (600, 1600)
    assert (info.default_center, info.default_width) == (600, 1600)
    assert info.frames == 1 and isinstance(info.frames, int)
    assert info.photometric == "MONOCHROME2"
    assert info.min < info.max


def test_rescale_gives_modality_units(data: Callable[[str], Path]) -> None:
    _, info = render_frame(data("CT_small.dcm"))
    assert info.min < -500  # Hounsfield units after Rescale Intercept -1024
    assert info.width > 0


def test_window_override_changes_output(data: Callable[[str], Path]) -> None:
    path = data("CT_small.dcm")
    default, info = render_frame(path)
    narrow, narrow_info = render_frame(path, window=(40.0, 80.0))
    assert (narrow_info.center, narrow_info.width) == (40.0, 80.0)
    assert (narrow_info.default_center, narrow_info.default_width) == (
        info.default_center,
        info.default_width,
    )
    assert not np.array_equal(default, narrow)


def test_window_override_on_color(data: Callable[[str], Path]) -> None:
    path = data("SC_rgb_jpeg_dcmtk.dcm")
    default, info = render_frame(path)
    assert info.default_width == 255
    dark, _ = render_frame(path, window=(250.0, 10.0))
    assert dark.mean() < default.mean()


@pytest.mark.parametrize("function", ["LINEAR_EXACT", "SIGMOID"])
def test_voi_lut_function_is_honoured(data: Callable[[str], Path], write, function: str) -> None:
    linear, _ = render_frame(data("MR_small.dcm"))
    ds = dcmread(data("MR_small.dcm"))
    ds.VOILUTFunction = function
    other, info = render_frame(write(ds))
    assert (info.center, info.width) == (600, 1600)
    if function == "SIGMOID":
        assert not np.array_equal(linear, other)
    else:  # LINEAR and LINEAR_EXACT differ by at most a rounding step here
        assert np.abs(linear.astype(int) - other.astype(int)).max() <= 1
    assert other.std() > 5


def test_multi_valued_window_uses_the_first(data: Callable[[str], Path], write) -> None:
    ds = dcmread(data("MR_small.dcm"))
    ds.WindowCenter = [300, 900]
    ds.WindowWidth = [500, 2000]
    _, info = render_frame(write(ds))
    assert (info.center, info.width) == (300, 500)


def test_voi_lut_sequence(gray_image, write) -> None:
    # A LUT that inverts 0..4095: the output must run right to left.
    ds = gray_image()
    ds.VOILUTSequence = Sequence([_lut_item(0, list(range(4095, -1, -1)), as_words=True)])
    pixels, info = render_frame(write(ds))
    row = pixels[0, :, 0].astype(int)
    assert row[0] == 255 and row[-1] == 0
    assert info.default_width == 4096


def test_modality_lut_sequence(gray_image, write) -> None:
    # Values 0..4095 map to 2000 - v/4: decreasing modality values.
    ds = gray_image()
    ds.ModalityLUTSequence = Sequence(
        [_lut_item(0, [2000 - v // 4 for v in range(4096)], as_words=False)]
    )
    pixels, info = render_frame(write(ds))
    assert info.max == pytest.approx(2000, abs=1)
    assert info.min == pytest.approx(2000 - 4095 // 4, abs=1)
    row = pixels[0, :, 0].astype(int)
    assert row[0] > row[-1]


def test_auto_window_ignores_pixel_padding(gray_image, write) -> None:
    ds = gray_image()
    arr = ds.pixel_array.copy()
    arr[:, :40] = 0  # padding over most of the frame
    arr[:, 40:] = np.linspace(1000, 1200, 24).astype(np.uint16)
    ds.set_pixel_data(arr, "MONOCHROME2", 12)
    ds.PixelPaddingValue = 0
    _, info = render_frame(write(ds))
    assert info.default_center - info.default_width / 2 >= 999  # window fits the tissue


def test_functional_groups_per_frame_override_shared(gray_image, write) -> None:
    ds = gray_image(frames=3)
    shared = Dataset()
    shared.FrameVOILUTSequence = Sequence([Dataset()])
    shared.FrameVOILUTSequence[0].WindowCenter = 2000
    shared.FrameVOILUTSequence[0].WindowWidth = 4000
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for index in range(3):
        item = Dataset()
        if index == 1:
            item.FrameVOILUTSequence = Sequence([Dataset()])
            item.FrameVOILUTSequence[0].WindowCenter = 100
            item.FrameVOILUTSequence[0].WindowWidth = 50
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    path = write(ds)
    _, first = render_frame(path, frame=0)
    _, middle = render_frame(path)
    assert (first.center, first.width) == (2000, 4000)
    assert (middle.center, middle.width) == (100, 50)
    assert middle.frames == 3


def test_render_frame_index_and_range(gray_image, write) -> None:
    path = write(gray_image(frames=4))
    assert frame_count(path) == 4
    zero, _ = render_frame(path, frame=0)
    middle, _ = render_frame(path)
    two, _ = render_frame(path, frame=2)
    assert np.array_equal(middle, two)
    with pytest.raises(RenderError, match="out of range"):
        render_frame(path, frame=4)
    assert zero.shape == (64, 64, 3)


def test_render_frame_accepts_datasets(data: Callable[[str], Path]) -> None:
    path = data("MR_small.dcm")
    expected, _ = render_frame(path)
    full, _ = render_frame(dcmread(path))
    header_only, _ = render_frame(dcmread(path, stop_before_pixels=True))
    assert np.array_equal(expected, full)
    assert np.array_equal(expected, header_only)


def test_render_frame_refuses_objects_without_pixels(data: Callable[[str], Path]) -> None:
    with pytest.raises(RenderError, match="no pixel data"):
        render_frame(data("test-SR.dcm"))
    assert frame_count(data("test-SR.dcm")) == 0


def test_frame_count_of_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "not.dcm"
    path.write_bytes(b"plain text, not DICOM" * 20)
    with pytest.raises(RenderError, match="cannot read"):
        frame_count(path)
