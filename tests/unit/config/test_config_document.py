"""Round-trip editing: saving changes only what was changed (DESIGN §4)."""

from __future__ import annotations

import difflib
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
from config_samples import SPEC_CHANNEL
from ruamel.yaml import YAML

from intu_desktop.config import YamlDocument
from intu_desktop.config.document import guess_indent
from intu_desktop.config.schema import load_raw_schema
from intu_desktop.config.yamlnode import to_plain


def _write(tmp_path: Path, text: str, name: str = "channel.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_unchanged_save_is_byte_identical(tmp_path: Path) -> None:
    path = _write(tmp_path, SPEC_CHANNEL)
    document = YamlDocument.load(path)
    assert document.text() == SPEC_CHANNEL
    document.save()
    assert path.read_text(encoding="utf-8") == SPEC_CHANNEL
    assert not document.changed_on_disk()


def test_set_port_and_add_calling_ae_changes_only_those_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, SPEC_CHANNEL)
    document = YamlDocument.load(path)
    document.set(("listener", "dicom", "port"), 11112)
    document.set(("listener", "dicom", "calling_ae_titles", 3), "US_CART_4")
    document.save()

    saved = path.read_text(encoding="utf-8")
    assert _changed_lines(SPEC_CHANNEL, saved) == [
        "-    port: 4104",
        "+    port: 11112",
        "+      - US_CART_4",
    ]
    assert "# Only these senders may connect." in saved
    assert 'site_note: "second floor"   # not an intu key: kept as is' in saved
    data = to_plain(YAML(typ="safe").load(saved))
    jsonschema.validate(data, load_raw_schema("intu-channel"))
    assert data["listener"]["dicom"]["calling_ae_titles"][-1] == "US_CART_4"


def test_get_set_delete_and_new_keys(tmp_path: Path) -> None:
    document = YamlDocument.load(_write(tmp_path, SPEC_CHANNEL))
    assert document.get(("listener", "dicom", "port")) == 4104
    assert document.get(("listener", "dicom", "calling_ae_titles", 1)) == "MR_SCANNER_2"
    assert document.get(("listener", "nothing", "here"), "default") == "default"

    document.set(("listener", "dicom", "tls", "cert_file"), "certs/dicom.crt")
    document.set(("listener", "dicom", "calling_ae_titles"), ["CT_SCANNER_1", "PACS_PRIMARY"])
    assert document.delete(("validator",))
    assert not document.delete(("validator",))
    text = document.text()

    # The deleted block takes the blank line that followed it; nothing else moves.
    assert sorted(_changed_lines(SPEC_CHANNEL, text)) == sorted(
        [
            "-      - MR_SCANNER_2",
            "+    tls:",
            "+      cert_file: certs/dicom.crt",
            "-validator:",
            "-  runtime: node",
            "-  entrypoint: validator.ts",
            "-",
        ]
    )
    data = YAML(typ="safe").load(text)
    assert data["listener"]["dicom"]["tls"] == {"cert_file": "certs/dicom.crt"}
    jsonschema.validate(data, load_raw_schema("intu-channel"))


def test_variables_are_never_expanded_and_quotes_are_kept(tmp_path: Path) -> None:
    text = "id: a\nlistener:\n  type: dicom\n  dicom:\n    port: ${DICOM_PORT}\n    ae_title: '${HOME}'\n"
    document = YamlDocument.load(_write(tmp_path, text))
    assert document.get(("listener", "dicom", "ae_title")) == "${HOME}"
    document.set(("listener", "dicom", "ae_title"), "NEW_AE")
    assert document.text() == text.replace("'${HOME}'", "'NEW_AE'")


def test_lines_ruamel_would_reformat_stay_as_written(tmp_path: Path) -> None:
    text = (
        "---\n"
        "id:    spaced\n"
        "tags: [a,b]\n"
        "listener:\n"
        "    type: dicom\n"
        "    dicom:\n"
        "        port: 4104\n"
        "        ae_title: X"  # no final newline
    )
    path = _write(tmp_path, text)
    document = YamlDocument.load(path)
    assert document.text() == text
    document.set(("listener", "dicom", "port"), 104)
    assert document.text() == text.replace("4104", "104")
    document.set(("enabled",), False)
    assert document.text() == text.replace("4104", "104") + "\nenabled: false\n"


def test_crlf_and_bom_are_preserved(tmp_path: Path) -> None:
    text = "\ufeffid: a  # c\r\nlistener:\r\n  type: dicom\r\n"
    path = _write(tmp_path, text)
    document = YamlDocument.load(path)
    document.set(("listener", "type"), "http")
    document.save()
    assert path.read_bytes() == text.replace("dicom", "http").encode("utf-8")


def test_save_is_atomic_keeps_mode_and_tracks_disk_changes(tmp_path: Path) -> None:
    path = _write(tmp_path, SPEC_CHANNEL)
    path.chmod(0o640)
    document = YamlDocument.load(path)
    assert document.mtime_ns == path.stat().st_mtime_ns
    assert not document.changed_on_disk()

    path.write_text(SPEC_CHANNEL + "# edited elsewhere\n", encoding="utf-8")
    assert document.changed_on_disk()

    document.set(("enabled",), False)
    document.save()
    assert not document.changed_on_disk()
    assert document.mtime_ns == path.stat().st_mtime_ns
    assert (path.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["channel.yaml"]  # no temp left
    # ruamel keeps the comment in its column.
    assert "enabled: false  # set to false to pause" in path.read_text(encoding="utf-8")

    # Later edits diff against what was saved.
    document.set(("enabled",), True)
    other = tmp_path / "copy.yaml"
    document.save(other)
    assert document.path == other
    assert other.read_text(encoding="utf-8") == SPEC_CHANNEL
    path.unlink()
    document.path = path
    assert document.changed_on_disk()


def test_guess_indent() -> None:
    assert guess_indent("a:\n  b:\n    - x\n") == (2, 4, 2)
    assert guess_indent("a:\n  b:\n  - x\n") == (2, 2, 0)
    assert guess_indent("a:\n    b: 1\n") == (4, 6, 4)


def test_set_on_a_scalar_path_is_a_type_error(tmp_path: Path) -> None:
    document = YamlDocument.load(_write(tmp_path, SPEC_CHANNEL))
    with pytest.raises(TypeError):
        document.set(("id", "sub"), 1)
    with pytest.raises(KeyError):
        document.set(("destinations", 7, "x"), 1)


def test_new_list_items_follow_the_files_dash_style(tmp_path: Path) -> None:
    text = "destinations:\n- a\n- b\nlistener:\n    type: dicom\n"
    document = YamlDocument.load(_write(tmp_path, text))
    document.set(("destinations", 2), "c")
    document.set(("listener", "dicom"), {"port": 104, "calling_ae_titles": ["X"]})
    assert document.text() == (
        "destinations:\n- a\n- b\n- c\nlistener:\n    type: dicom\n"
        "    dicom:\n        port: 104\n        calling_ae_titles:\n        - X\n"
    )


def test_empty_file_becomes_a_mapping(tmp_path: Path) -> None:
    document = YamlDocument.load(_write(tmp_path, ""))
    document.set(("id",), "new")
    assert document.text() == "id: new\n"
