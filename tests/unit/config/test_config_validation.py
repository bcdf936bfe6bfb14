"""Validation: every problem at once, each with file, line and key path."""

from __future__ import annotations

from pathlib import Path

from config_samples import SPEC_CHANNEL, WriteFiles

from intu_desktop.config import ConfigError, load_channel_files, load_project
from intu_desktop.config.values import ae_title_problem

BROKEN_CHANNEL = """\
id: broken
enabled: "yes"
tags: radiology
listener:
  type: dicom
  dicom:
    port: 70000
    ae_title: THIS_AE_TITLE_IS_TOO_LONG
    calling_ae_titles:
      - CT_SCANNER_1
      - "   "
      - BAD\\\\AE
      - 42
    max_associations: 0
    acse_timeout_ms: -1
    dimse_timeout_ms: true
    duplicate_policy: overwrite
    tls:
      enabled: true
      cert_file: missing.crt
validator:
  runtime: ruby
  entrypoint: validator.rb
transformer:
  runtime: node
destinations:
  - no-such-destination
  - 12
"""


def _errors_by_path(errors: list[ConfigError]) -> dict[str, tuple[int, str]]:
    by_path: dict[str, tuple[int, str]] = {}
    for error in errors:
        assert error.key_path not in by_path, f"two errors for {error.key_path}: {errors}"
        by_path[error.key_path] = (error.line, error.message)
    return by_path


def test_broken_channel_reports_one_error_per_field_with_its_line(write_files: WriteFiles) -> None:
    root = write_files(
        {"intu.yaml": "destinations: {}\n", "src/channels/broken/channel.yaml": BROKEN_CHANNEL}
    )
    project = load_project(root, environ={})
    channel_file = root / "src/channels/broken/channel.yaml"
    [channel] = project.channels
    assert project.errors == channel.errors
    assert all(e.file == channel_file for e in project.errors)
    lines = {path: line for path, (line, _) in _errors_by_path(project.errors).items()}
    assert lines == {
        "enabled": 2,
        "tags": 3,
        "listener.dicom.port": 7,
        "listener.dicom.ae_title": 8,
        "listener.dicom.calling_ae_titles[1]": 11,
        "listener.dicom.calling_ae_titles[2]": 12,
        "listener.dicom.calling_ae_titles[3]": 13,
        "listener.dicom.max_associations": 14,
        "listener.dicom.acse_timeout_ms": 15,
        "listener.dicom.dimse_timeout_ms": 16,
        "listener.dicom.duplicate_policy": 17,
        "listener.dicom.tls.cert_file": 20,
        "listener.dicom.tls.key_file": 18,  # missing: reported at the `tls:` line
        "validator.runtime": 22,
        "validator.entrypoint": 23,
        "transformer.entrypoint": 24,
        "destinations[0]": 27,
        "destinations[1]": 28,
    }
    messages = {e.key_path: e.message for e in project.errors}
    assert messages["enabled"] == "expected true or false, got the text 'yes'"
    assert messages["listener.dicom.port"] == "must be between 1 and 65535, got 70000"
    assert "longer than 16" in messages["listener.dicom.ae_title"]
    assert "only spaces" in messages["listener.dicom.calling_ae_titles[1]"]
    assert "backslash" in messages["listener.dicom.calling_ae_titles[2]"]
    assert messages["listener.dicom.calling_ae_titles[3]"] == "expected a string, got 42"
    assert (
        messages["listener.dicom.dimse_timeout_ms"] == "expected an integer, got the boolean true"
    )
    assert "file not found" in messages["listener.dicom.tls.cert_file"]
    assert "unknown runtime 'ruby'" in messages["validator.runtime"]
    assert messages["transformer.entrypoint"] == "required key is missing"
    assert "unknown named destination 'no-such-destination'" in messages["destinations[0]"]
    assert str(project.errors[0]).startswith(f"{channel_file}:")
    assert project.dicom_channels == []


def test_yaml_syntax_error_gives_file_and_line(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "{}\n",
            "src/channels/a/channel.yaml": "id: a\nlistener:\n  type: dicom\n  dicom: [1, 2\n  x: 1\n",
        }
    )
    project = load_project(root, environ={})
    [error] = project.errors
    assert error.file == root / "src/channels/a/channel.yaml"
    assert error.line == 5
    assert "YAML syntax error" in error.message
    assert project.channels[0].id == "a"  # named after its folder, shown as broken
    assert project.channels[0].errors == [error]


def test_syntax_error_in_intu_yaml(write_files: WriteFiles) -> None:
    root = write_files({"intu.yaml": "destinations:\n  a: 1\n b: 2\n"})
    root.joinpath("src/channels").mkdir(parents=True)
    [error] = load_project(root, environ={}).errors
    assert (error.file, error.line) == (root / "intu.yaml", 3)


def test_duplicate_key_is_an_error_with_its_line(write_files: WriteFiles) -> None:
    root = write_files(
        {"intu.yaml": "{}\n", "src/channels/a/channel.yaml": "id: a\nenabled: true\nid: b\n"}
    )
    [error] = load_project(root, environ={}).errors
    assert error.line == 3 and "duplicate key" in error.message


def test_unknown_named_destination_names_channel_file_and_line(spec_project: Path) -> None:
    channel_file = spec_project / "src/channels/dicom-radiology-ingest/channel.yaml"
    channel_file.write_text(SPEC_CHANNEL.replace("- pacs-archive", "- pacs-archiv"), "utf-8")
    project = load_project(spec_project, environ={})
    [error] = project.errors
    assert error.file == channel_file
    assert error.line == 24
    assert error.key_path == "destinations[1]"
    assert "'pacs-archiv'" in error.message and "fhir-imaging-api, pacs-archive" in error.message
    assert str(error) == f"{channel_file}:24: destinations[1]: {error.message}"


def test_unknown_ref_in_a_mapping_points_at_the_ref(spec_project: Path) -> None:
    channel_file = spec_project / "src/channels/dicom-radiology-ingest/channel.yaml"
    channel_file.write_text(
        SPEC_CHANNEL.replace(
            "  - pacs-archive\n", "  - ref: nowhere\n    retry: {max_attempts: 1}\n"
        ),
        "utf-8",
    )
    [error] = load_project(spec_project, environ={}).errors
    assert (error.line, error.key_path) == (24, "destinations[1].ref")


def test_required_keys(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "{}\n",
            "src/channels/a/channel.yaml": "enabled: true\nlistener:\n  dicom:\n    port: 104\n",
            "src/channels/b/channel.yaml": "id: b\nlistener:\n  type: dicom\n",
            "src/channels/c/channel.yaml": "id: c\nlistener:\n  type: dicom\n  dicom:\n    ae_title: C\n",
            "src/channels/d/channel.yaml": "# nothing here yet\n",
        }
    )
    errors = {
        (e.file.parent.name, e.key_path, e.line) for e in load_project(root, environ={}).errors
    }
    assert errors == {
        ("a", "id", 1),
        ("a", "listener.type", 2),
        ("b", "listener.dicom", 2),
        ("c", "listener.dicom.port", 4),
        ("d", "(root)", 1),
    }


def test_duplicate_ids_and_ports(write_files: WriteFiles) -> None:
    channel = "id: {id}\nenabled: {enabled}\nlistener:\n  type: dicom\n  dicom:\n    port: {port}\n"
    root = write_files(
        {
            "intu.yaml": "{}\n",
            "src/channels/a/channel.yaml": channel.format(id="a", enabled="true", port=4104),
            "src/channels/b/channel.yaml": channel.format(id="a", enabled="true", port=4105),
            "src/channels/c/channel.yaml": channel.format(id="c", enabled="true", port=4104),
            "src/channels/d/channel.yaml": channel.format(id="d", enabled="false", port=4104),
        }
    )
    project = load_project(root, environ={})
    found = [(e.file.parent.name, e.line, e.key_path) for e in project.errors]
    assert found == [("b", 1, "id"), ("c", 6, "listener.dicom.port")]
    assert "also used by" in project.errors[0].message
    assert "already used by channel 'a'" in project.errors[1].message
    assert [c.id for c in project.dicom_channels] == ["a"]


def test_named_destination_errors_point_into_intu_yaml(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "destinations:\n"
            "  a:\n    type: fhir\n"
            "  b:\n    http:\n      url: http://x\n"
            "  c:\n    type: file\n    file:\n      directory: 7\n"
            "  d:\n    type: http\n    retry:\n      backoff: random\n      jitter: 1\n"
            "    http: {url: http://x}\n",
        }
    )
    root.joinpath("src/channels").mkdir(parents=True)
    found = [(e.line, e.key_path) for e in load_project(root, environ={}).errors]
    assert sorted(found) == [
        (2, "destinations.a.fhir"),
        (4, "destinations.b.type"),
        (10, "destinations.c.file.directory"),
        (14, "destinations.d.retry.backoff"),
        (15, "destinations.d.retry.jitter"),
    ]


def test_missing_project_pieces(tmp_path: Path) -> None:
    project = load_project(tmp_path / "nowhere", environ={})
    assert [e.key_path for e in project.errors] == ["(project)"]
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "intu.yaml").write_text("channels_dir: chans\n", "utf-8")
    [error] = load_project(tmp_path / "p", environ={}).errors
    assert (error.line, error.key_path) == (1, "channels_dir")
    assert "channels folder not found" in error.message
    missing = load_channel_files([tmp_path / "p" / "x" / "channel.yaml"], environ={})
    assert [e.key_path for e in missing.errors] == ["(file)"]


def test_bad_dotenv_line_and_profile_name(write_files: WriteFiles) -> None:
    root = write_files({".env": "GOOD=1\nthis is not a pair\n", "intu.yaml": "{}\n"})
    root.joinpath("src/channels").mkdir(parents=True)
    errors = load_project(root, profile="../etc", environ={}).errors
    assert [(e.file.name, e.line) for e in errors] == [(".env", 2), ("intu.yaml", 1)]


def test_ae_title_rules_from_ps3_5() -> None:
    assert ae_title_problem("INTU_SCP") is None
    assert ae_title_problem("A" * 16) is None
    assert ae_title_problem(" PADDED ") is None  # leading/trailing spaces are not significant
    assert ae_title_problem("A" * 17) is not None
    assert ae_title_problem("") is not None
    assert ae_title_problem("    ") is not None
    assert ae_title_problem("A\\B") is not None
    assert ae_title_problem("A\nB") is not None
    assert ae_title_problem("A\x1bB") is not None
    assert ae_title_problem("ÄRZTE") is not None


def test_extension_ranges_and_script_runtime(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "{}\n",
            "src/channels/a/transform.py": "def transform(msg): return msg\n",
            "src/channels/a/channel.yaml": "id: a\nlistener:\n  type: dicom\n  dicom:\n    port: 104\n"
            "    max_pdu_length: 100\n    max_instance_bytes: -5\n"
            "    calling_ae_hosts:\n      CT: []\n"
            "transformer:\n  entrypoint: transform.py\n  timeout_ms: 0\n",
        }
    )
    project = load_project(root, environ={})
    found = [(e.line, e.key_path) for e in project.errors]
    assert found == [
        (6, "listener.dicom.max_pdu_length"),
        (7, "listener.dicom.max_instance_bytes"),
        (9, "listener.dicom.calling_ae_hosts.CT"),
        (12, "transformer.timeout_ms"),
    ]
    transformer = project.channels[0].transformer
    assert transformer is not None and transformer.runtime == "python"  # from the .py entrypoint


def test_tls_half_configured_or_client_auth_without_ca(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "{}\n",
            "src/channels/a/c.crt": "x",
            "src/channels/a/channel.yaml": "id: a\nlistener:\n  type: dicom\n  dicom:\n    port: 104\n"
            "    tls:\n      cert_file: c.crt\n      client_auth: require\n"
            "      min_version: '1.1'\n",
        }
    )
    found = [(e.line, e.key_path) for e in load_project(root, environ={}).errors]
    assert found == [
        (6, "listener.dicom.tls.key_file"),
        (8, "listener.dicom.tls.client_auth"),
        (9, "listener.dicom.tls.min_version"),
    ]
