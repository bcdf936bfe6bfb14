"""The on-disk thumbnail cache."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from intu_desktop.thumbnails import Rendered, ThumbnailCache, render_thumbnail


class CountingRenderer:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, path: Path, size: int) -> Rendered:
        with self._lock:
            self.calls += 1
        return render_thumbnail(path, size)


@pytest.fixture
def image(gray_image, write) -> Path:
    return write(gray_image(rows=40, columns=80), "image.dcm")


def _uid(path: Path) -> str:
    from pydicom import dcmread

    return str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _cached_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_second_call_is_served_from_disk(tmp_path: Path, image: Path) -> None:
    renderer = CountingRenderer()
    directory = tmp_path / "thumbnails"
    first = ThumbnailCache(directory, renderer).get_or_render(image, _uid(image))
    # A new cache object (as after a restart) must find the file on disk.
    second = ThumbnailCache(directory, renderer).get_or_render(image, _uid(image))
    assert renderer.calls == 1
    assert first.pixels is not None and second.pixels is not None
    assert np.array_equal(first.pixels, second.pixels)
    assert second.pixels.dtype == np.uint8 and second.pixels.flags.c_contiguous
    assert (second.kind, second.summary, second.error) == (first.kind, first.summary, None)


def test_file_names_carry_no_patient_value(tmp_path: Path, image: Path) -> None:
    directory = tmp_path / "thumbnails"
    ThumbnailCache(directory).get_or_render(image, _uid(image))
    files = _cached_files(directory)
    assert len(files) == 1
    name = files[0].relative_to(directory).as_posix()
    for canary in ("Canary", "CANARY", "4711", _uid(image)):
        assert canary not in name
    assert len(files[0].stem) == 64 and int(files[0].stem, 16) >= 0  # a sha256
    for file in files:  # nor inside: the cache holds pixels and a summary only
        assert b"CANARY" not in file.read_bytes().upper()


def test_size_and_file_changes_render_again(tmp_path: Path, image: Path) -> None:
    renderer = CountingRenderer()
    cache = ThumbnailCache(tmp_path / "thumbnails", renderer)
    uid = _uid(image)
    small = cache.get_or_render(image, uid, size=32)
    cache.get_or_render(image, uid, size=64)
    assert renderer.calls == 2
    assert small.pixels is not None and max(small.pixels.shape[:2]) == 32
    stat = image.stat()
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    cache.get_or_render(image, uid, size=32)
    assert renderer.calls == 3


def test_objects_without_pixels_are_cached(tmp_path: Path, data: Callable[[str], Path]) -> None:
    renderer = CountingRenderer()
    cache = ThumbnailCache(tmp_path / "thumbnails", renderer)
    path = data("rtplan.dcm")
    first = cache.get_or_render(path, "1.2.3")
    second = cache.get_or_render(path, "1.2.3")
    assert renderer.calls == 1
    assert second == Rendered(None, "rtplan", "RT Plan: 1 beam", None)
    assert first == second


def test_failures_are_remembered_in_memory_only(tmp_path: Path) -> None:
    renderer = CountingRenderer()
    directory = tmp_path / "thumbnails"
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not dicom" * 30)
    cache = ThumbnailCache(directory, renderer)
    assert cache.get_or_render(broken, "1.2.3").error
    assert cache.get_or_render(broken, "1.2.3").error
    assert renderer.calls == 1
    assert _cached_files(directory) == []
    ThumbnailCache(directory, renderer).get_or_render(broken, "1.2.3")
    assert renderer.calls == 2  # a new process tries again


def test_corrupt_cache_file_is_replaced(tmp_path: Path, image: Path) -> None:
    renderer = CountingRenderer()
    directory = tmp_path / "thumbnails"
    cache = ThumbnailCache(directory, renderer)
    cache.get_or_render(image, _uid(image))
    (file,) = _cached_files(directory)
    file.write_bytes(b"PK\x03\x04 truncated")
    again = ThumbnailCache(directory, renderer).get_or_render(image, _uid(image))
    assert renderer.calls == 2
    assert again.pixels is not None and again.error is None


def test_missing_source_file(tmp_path: Path) -> None:
    rendered = ThumbnailCache(tmp_path / "t").get_or_render(tmp_path / "gone.dcm", "1.2")
    assert rendered.pixels is None and rendered.error


def test_unwritable_cache_still_renders(tmp_path: Path, image: Path) -> None:
    blocker = tmp_path / "thumbnails"
    blocker.write_bytes(b"")  # a file where the directory should be
    rendered = ThumbnailCache(blocker).get_or_render(image, _uid(image))
    assert rendered.pixels is not None and rendered.error is None


def test_clear(tmp_path: Path, image: Path) -> None:
    directory = tmp_path / "thumbnails"
    cache = ThumbnailCache(directory)
    cache.get_or_render(image, _uid(image))
    cache.clear()
    assert _cached_files(directory) == []


def test_concurrent_requests(tmp_path: Path, image: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbnails")
    uid = _uid(image)
    results: list[Rendered] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(cache.get_or_render(image, uid))
        except BaseException as exc:  # noqa: BLE001 -- surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 20
    assert all(r.pixels is not None and r.error is None for r in results)
    assert len(_cached_files(tmp_path / "thumbnails")) == 1  # no temp files left behind


def test_cache_stays_under_its_cap_and_keeps_what_was_used_last(tmp_path: Path, image: Path) -> None:
    """The cache shares the store's disk: past max_bytes the least recently used go, down to
    PRUNE_TO of the cap; a thumbnail looked at again counts as recent."""
    import time

    from intu_desktop.thumbnails import cache as cache_module

    rng = np.random.default_rng(7)
    renders: list[str] = []

    def noise(path: Path, size: int) -> Rendered:  # incompressible: every file the same size
        renders.append(path.name)
        return Rendered(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), "image", "noise")

    directory = tmp_path / "thumbnails"
    probe = ThumbnailCache(directory / "probe", noise)
    probe.get_or_render(image, "1.2.0")
    one = _cached_files(directory / "probe")[0].stat().st_size
    cache = ThumbnailCache(directory / "cache", noise, max_bytes=5 * one + one // 2)

    def disk() -> int:
        return sum(p.stat().st_size for p in _cached_files(directory / "cache"))

    for i in range(4):
        cache.get_or_render(image, f"1.2.{i}")
        time.sleep(0.02)  # distinct modification times, whatever the clock's grain
    cache.get_or_render(image, "1.2.0")  # looked at again: the most recent now
    time.sleep(0.02)
    for i in (4, 5):  # the sixth file passes the cap (5.5 files): down to 80 %, 4 files
        cache.get_or_render(image, f"1.2.{i}")
        time.sleep(0.02)
        assert disk() <= cache.max_bytes
    assert len(_cached_files(directory / "cache")) == 4
    assert disk() <= cache.max_bytes * cache_module.PRUNE_TO
    renders.clear()
    for kept in ("1.2.0", "1.2.3", "1.2.4", "1.2.5"):
        cache.get_or_render(image, kept)
    assert renders == []  # served from disk: the two least recently used went instead
    cache.get_or_render(image, "1.2.1")
    assert len(renders) == 1
