"""How many receiver processes a channel gets (dicom/receiver_process.default_workers, app.Runtime)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dicomtools import free_port, write_channel

from intu_desktop.dicom.receiver_process import MAX_WORKERS, ProcessListener, default_workers


def test_one_process_per_core_on_linux_up_to_the_cap_and_one_elsewhere() -> None:
    assert default_workers(2, "linux") == 2
    assert default_workers(1, "linux") == 1
    assert default_workers(64, "linux") == MAX_WORKERS
    assert default_workers(None, "linux") == 1  # the core count is unknown
    assert default_workers(8, "win32") == 1 and default_workers(8, "darwin") == 1


@pytest.mark.parametrize(("cores", "channels", "each"), [(4, 1, 4), (4, 2, 2), (2, 3, 1), (4, 3, 1)])
def test_the_cores_are_shared_among_the_channels(tmp_path: Path, monkeypatch, cores: int, channels: int,
                                                 each: int) -> None:
    from intu_desktop import app
    from intu_desktop.config import load_channel_files

    monkeypatch.setattr(app, "default_workers", lambda: cores)
    files = [write_channel(tmp_path / f"ch{n}", port=free_port(), channel_id=f"ch-{n}") for n in range(channels)]
    runtime = app.Runtime(load_channel_files(files), tmp_path / "data", with_pipeline=False, receiver_process=True)
    try:
        assert [type(listener) for listener in runtime.listeners.values()] == [ProcessListener] * channels
        assert [listener.workers for listener in runtime.listeners.values()] == [each] * channels
    finally:
        runtime.stop()
