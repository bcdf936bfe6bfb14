"""Checks the editor adds to loading: PEM files, and ids and ports across channels."""

from __future__ import annotations

from pathlib import Path

import trustme

from intu_desktop.gui.editor.checks import check_channel, check_project
from intu_desktop.gui.editor.pem import pem_problem
from intu_desktop.gui.editor.template import ChannelSummary

CHANNEL = "id: ct\nenabled: true\nlistener:\n  type: dicom\n  dicom:\n    port: 4104\n"


def test_pem_files(tmp_path: Path) -> None:
    ca = trustme.CA()
    server, other = ca.issue_cert("127.0.0.1"), ca.issue_cert("other.example")
    cert, key, wrong = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "w.pem"
    server.cert_chain_pems[0].write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    other.private_key_pem.write_to_path(str(wrong))
    encrypted = tmp_path / "e.pem"
    encrypted.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                         "-----END ENCRYPTED PRIVATE KEY-----\n")
    text = tmp_path / "t.txt"
    text.write_text("not a certificate")
    assert pem_problem(cert, "certificate") is None
    assert pem_problem(cert, "ca") is None
    assert pem_problem(key, "key", cert) is None
    assert "is not the private key of c.pem" in (pem_problem(wrong, "key", cert) or "")
    assert "passphrase" in (pem_problem(encrypted, "key") or "")
    assert "not a PEM file" in (pem_problem(text, "certificate") or "")
    assert "no readable PEM certificate" in (pem_problem(key, "certificate") or "")
    assert "file not found" in (pem_problem(tmp_path / "none.pem", "ca") or "")


def test_same_id_or_port_as_another_channel(tmp_path: Path) -> None:
    path = tmp_path / "ct" / "channel.yaml"
    others = [
        ChannelSummary(tmp_path / "a" / "channel.yaml", "ct", True, "dicom", 4200),
        ChannelSummary(tmp_path / "b" / "channel.yaml", "b", True, "dicom", 4104),
        ChannelSummary(tmp_path / "c" / "channel.yaml", "c", False, "dicom", 4104),
    ]
    result = check_channel(path, CHANNEL, others=others)
    problems = [(e.key_path, e.line, e.message) for e in result.errors]
    assert ("id", 1, f"channel id also used by {others[0].path}") in problems
    assert [p for p in problems if p[0] == "listener.dicom.port"] == [
        ("listener.dicom.port", 6, f"port 4104 is already used by channel 'b' ({others[1].path})")]


def test_errors_of_a_clone_name_the_clone_file(tmp_path: Path) -> None:
    source = tmp_path / "src" / "channel.yaml"
    source.parent.mkdir()
    (source.parent / "t.ts").write_text("export default function transform(m) { return m; }\n")
    text = CHANNEL + "transformer:\n  entrypoint: t.ts\nvalidator:\n  entrypoint: v.ts\n"
    clone = tmp_path / "copy" / "channel.yaml"
    result = check_channel(clone, text, validate_as=source)
    assert [(e.file, e.key_path) for e in result.errors] == [(clone, "validator.entrypoint")]


def test_desktop_extensions_are_reported(tmp_path: Path) -> None:
    text = CHANNEL + "    max_associations: 2\ndestinations:\n  - type: log\n    name: l\n"
    result = check_channel(tmp_path / "c.yaml", text)
    assert result.errors == []
    assert result.extensions == ["listener.dicom.max_associations", "destinations[0].type"]


def test_project_text(tmp_path: Path) -> None:
    intu = tmp_path / "intu.yaml"
    text = ("destinations:\n  audit:\n    type: log\n  api:\n    type: fhir\n"
            "    fhir:\n      timeout_ms: soon\n")
    result = check_project(intu, text)
    assert result.destination_names == ["audit", "api"]
    assert result.extensions == ["destinations.audit.type"]
    messages = {(e.key_path, e.line) for e in result.errors}
    assert ("destinations.api.fhir.timeout_ms", 7) in messages
    assert ("destinations.api.fhir.base_url", 6) in messages


def test_required_destination_settings_must_not_be_empty(tmp_path: Path) -> None:
    text = CHANNEL + "destinations:\n  - name: api\n    type: fhir\n    fhir:\n      base_url: ''\n"
    result = check_channel(tmp_path / "c.yaml", text)
    assert [(e.key_path, e.line, e.message) for e in result.errors] == [
        ("destinations[0].fhir.base_url", 11, "must not be empty")]
    project = check_project(tmp_path / "intu.yaml",
                            "destinations:\n  out:\n    type: file\n    file:\n      directory: ' '\n")
    assert [(e.key_path, e.line) for e in project.errors] == [("destinations.out.file.directory", 5)]
