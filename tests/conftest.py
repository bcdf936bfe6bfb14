"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

# No test reads or writes the user's real configuration or data.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("INTU_DESKTOP_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("INTU_DESKTOP_DATA_DIR", str(base / "data"))


@pytest.fixture
def start_runtime(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start an in-process Runtime on channel files; everything is stopped at teardown."""
    from intu_desktop.app import Runtime
    from intu_desktop.config import load_channel_files, load_project

    started: list[Any] = []

    def start(*channel_files: Path, project_dir: Path | None = None, data_dir: Path | None = None,
              with_pipeline: bool = True, expect_failures: bool = False, receiver_process: bool = False) -> Any:
        project = load_project(project_dir) if project_dir else load_channel_files(list(channel_files))
        assert not project.errors, [str(e) for e in project.errors]
        runtime = Runtime(project, data_dir or tmp_path / f"data{len(started)}", host="127.0.0.1",
                          with_pipeline=with_pipeline, receiver_process=receiver_process)
        started.append(runtime)
        failures = runtime.start()
        if not expect_failures:
            assert not failures, [str(f) for f in failures]
        runtime.failures = failures
        return runtime

    yield start
    for runtime in started:
        runtime.stop()


@pytest.fixture(autouse=True)
def _no_leaked_listener_threads() -> Iterator[None]:
    before = {t.ident for t in threading.enumerate()}
    yield
    leaked = [t.name for t in threading.enumerate()
              if t.ident not in before and t.is_alive() and t.name.startswith("listener-")]
    assert not leaked, f"listener threads left running: {leaked}"
