"""The default project created on first start."""

from __future__ import annotations

from pathlib import Path

from intu_desktop.config import ensure_default_project, load_project


def test_default_project_loads_without_errors_with_one_dicom_channel(tmp_path: Path) -> None:
    data_dir = tmp_path / "data dir: ünïcode"
    folder = ensure_default_project(tmp_path / "config", data_dir)

    assert folder == tmp_path / "config" / "default-project"
    project = load_project(folder, environ={})
    assert project.errors == []
    [channel] = project.dicom_channels
    assert channel.id == "dicom-radiology-ingest"
    assert channel.dicom is not None
    assert channel.dicom.port == 4104
    assert channel.dicom.ae_title == "INTU_SCP"
    assert channel.dicom.calling_ae_titles == []
    assert channel.validator is None and channel.transformer is None
    [destination] = channel.destinations
    assert destination.name == "received-files"
    assert destination.type == "file"
    assert destination.options["directory"] == str(data_dir / "exports")


def test_existing_default_project_is_left_alone(tmp_path: Path) -> None:
    folder = ensure_default_project(tmp_path, tmp_path / "data")
    intu = folder / "intu.yaml"
    intu.write_text("# mine\n", encoding="utf-8")
    channel = folder / "src/channels/dicom-radiology-ingest/channel.yaml"
    channel.unlink()

    assert ensure_default_project(tmp_path, tmp_path / "other") == folder
    assert intu.read_text(encoding="utf-8") == "# mine\n"
    assert not channel.exists()  # intu.yaml exists: the project is the user's now


def test_interrupted_creation_is_completed_without_overwriting(tmp_path: Path) -> None:
    folder = ensure_default_project(tmp_path, tmp_path / "data")
    channel = folder / "src/channels/dicom-radiology-ingest/channel.yaml"
    channel.write_text("# edited\n", encoding="utf-8")
    (folder / "intu.yaml").unlink()

    ensure_default_project(tmp_path, tmp_path / "data")
    assert (folder / "intu.yaml").is_file()
    assert channel.read_text(encoding="utf-8") == "# edited\n"
