"""Loading projects and channel files: values, defaults, profiles, .env and ${VAR}."""

from __future__ import annotations

from pathlib import Path

from config_samples import SPEC_CHANNEL, SPEC_INTU, WriteFiles

from intu_desktop.config import (
    DESKTOP_EXTENSION_KEYS,
    DicomListenerConfig,
    RetryConfig,
    load_channel_files,
    load_project,
)

MINIMAL_CHANNEL = """\
id: {id}
enabled: true
listener:
  type: dicom
  dicom:
    port: {port}
"""


def test_spec_complete_example_loads_with_its_values(spec_project: Path) -> None:
    project = load_project(spec_project, environ={})

    assert project.errors == []
    assert project.root == spec_project
    assert project.intu_file == spec_project / "intu.yaml"
    assert project.profile == "dev"
    [channel] = project.channels
    folder = spec_project / "src/channels/dicom-radiology-ingest"
    assert channel.id == "dicom-radiology-ingest"
    assert channel.enabled is True
    assert channel.path == folder / "channel.yaml"
    assert channel.folder == folder
    assert channel.listener_type == "dicom"
    assert channel.dicom is not None
    assert channel.dicom.port == 4104
    assert channel.dicom.ae_title == "INTU_SCP"
    assert channel.dicom.calling_ae_titles == ["CT_SCANNER_1", "MR_SCANNER_2", "PACS_PRIMARY"]
    assert channel.dicom.tls is None
    assert channel.validator is not None and channel.transformer is not None
    assert channel.validator.runtime == "node"
    assert channel.validator.entrypoint == folder / "validator.ts"
    assert channel.transformer.entrypoint == folder / "transformer.ts"
    assert [d.name for d in channel.destinations] == ["fhir-imaging-api", "pacs-archive"]
    fhir, pacs = channel.destinations
    assert fhir.type == "fhir"
    assert fhir.options == {"base_url": "https://fhir.example.org/r4"}
    assert fhir.source == spec_project / "intu.yaml"
    assert fhir.line == 4
    assert fhir.retry == RetryConfig()
    assert pacs.type == "dicom"
    assert pacs.options["called_ae_title"] == "PACS_ARCHIVE"
    assert set(project.destinations) == {"fhir-imaging-api", "pacs-archive"}
    assert project.dicom_channels == [channel]


def test_defaults_of_a_minimal_dicom_channel(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "runtime: {name: t}\n",
            "src/channels/a/channel.yaml": MINIMAL_CHANNEL.format(id="a", port=11112),
        }
    )
    [channel] = load_project(root, environ={}).channels
    assert channel.errors == []
    assert channel.dicom == DicomListenerConfig(port=11112)
    assert channel.dicom.ae_title == "INTU_SCP"  # the spec's default
    assert channel.dicom.calling_ae_titles == []  # any calling AE
    assert channel.destinations == []
    assert channel.validator is None and channel.transformer is None
    assert "max_associations" in DESKTOP_EXTENSION_KEYS


def test_desktop_extensions_are_read(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "{}\n",
            "src/channels/a/channel.yaml": MINIMAL_CHANNEL.format(id="a", port=11112)
            + """\
    accept_any_called_ae: true
    max_associations: 4
    acse_timeout_ms: 5000
    dimse_timeout_ms: 7000
    network_timeout_ms: 9000
    max_pdu_length: 65536
    max_instance_bytes: 1000000
    max_association_bytes: 5000000
    duplicate_policy: keep_first
    calling_ae_hosts:
      CT_SCANNER_1: [10.0.0.5, ct1.example.org]
      MR_SCANNER_2: 10.0.0.6
    tcp_tuning: false
""",
        }
    )
    [channel] = load_project(root, environ={}).channels
    assert channel.errors == []
    assert channel.dicom == DicomListenerConfig(
        port=11112,
        accept_any_called_ae=True,
        max_associations=4,
        acse_timeout_ms=5000,
        dimse_timeout_ms=7000,
        network_timeout_ms=9000,
        max_pdu_length=65536,
        max_instance_bytes=1000000,
        max_association_bytes=5000000,
        duplicate_policy="keep_first",
        calling_ae_hosts={
            "CT_SCANNER_1": ["10.0.0.5", "ct1.example.org"],
            "MR_SCANNER_2": ["10.0.0.6"],
        },
        tcp_tuning=False,
    )


def test_unknown_keys_are_kept_in_raw_and_are_not_errors(spec_project: Path) -> None:
    channel_file = spec_project / "src/channels/dicom-radiology-ingest/channel.yaml"
    channel_file.write_text(SPEC_CHANNEL + "x_team:\n  owner: radiology-it\n", encoding="utf-8")
    project = load_project(spec_project, environ={})
    assert project.errors == []
    raw = project.channels[0].raw
    assert raw["x_team"] == {"owner": "radiology-it"}
    assert raw["listener"]["dicom"]["site_note"] == "second floor"
    assert isinstance(raw["listener"]["dicom"]["calling_ae_titles"], list)


def test_profile_overlay_is_merged_over_intu_yaml(spec_project: Path) -> None:
    (spec_project / "intu.prod.yaml").write_text(
        "destinations:\n"
        "  fhir-imaging-api:\n"
        "    fhir:\n"
        "      base_url: https://fhir.prod.example.org/r4\n"
        "    retry:\n"
        "      max_attempts: 9\n",
        encoding="utf-8",
    )
    dev = load_project(spec_project, profile="dev", environ={})
    prod = load_project(spec_project, profile="prod", environ={})
    assert dev.destinations["fhir-imaging-api"].options["base_url"].startswith("https://fhir.ex")
    fhir = prod.destinations["fhir-imaging-api"]
    assert prod.errors == []
    assert prod.profile == "prod"
    assert fhir.type == "fhir"  # from intu.yaml
    assert fhir.options == {"base_url": "https://fhir.prod.example.org/r4"}
    assert fhir.retry.max_attempts == 9
    assert prod.destinations["pacs-archive"].options["host"] == "pacs.example.org"


def test_profile_overlay_errors_point_into_the_overlay_file(spec_project: Path) -> None:
    overlay = spec_project / "intu.prod.yaml"
    overlay.write_text(
        "destinations:\n  pacs-archive:\n    retry:\n      max_attempts: 0\n", encoding="utf-8"
    )
    project = load_project(spec_project, profile="prod", environ={})
    assert [str(e) for e in project.errors] == [
        f"{overlay}:4: destinations.pacs-archive.retry.max_attempts: must be at least 1, got 0"
    ]


def test_dotenv_sets_unset_variables_and_unknown_ones_stay_literal(write_files: WriteFiles) -> None:
    root = write_files(
        {
            ".env": "# settings\nDICOM_PORT=4242\nexport SITE_AE='SITE_A'\nFHIR_URL=http://from-dotenv\n",
            "intu.yaml": "destinations:\n  out:\n    type: fhir\n    fhir:\n"
            "      base_url: ${FHIR_URL}\n      headers:\n"
            "        X-Token: ${NOT_SET_ANYWHERE}\n",
            "src/channels/a/channel.yaml": "id: a\nenabled: true\nlistener:\n  type: dicom\n"
            "  dicom:\n    port: ${DICOM_PORT}\n"
            "    ae_title: ${SITE_AE}\n"
            "description: 'port ${DICOM_PORT}, ${MISSING}'\n"
            "destinations: [out]\n",
        }
    )
    project = load_project(root, environ={"FHIR_URL": "http://from-environment"})
    assert project.errors == []
    [channel] = project.channels
    assert channel.dicom is not None
    assert channel.dicom.port == 4242  # an unquoted ${VAR} takes the type of its value
    assert channel.dicom.ae_title == "SITE_A"
    assert channel.description == "port 4242, ${MISSING}"
    fhir = channel.destinations[0]
    assert fhir.options["base_url"] == "http://from-environment"  # the environment wins
    assert fhir.options["headers"] == {"X-Token": "${NOT_SET_ANYWHERE}"}
    assert project.env["DICOM_PORT"] == "4242"
    assert project.env["FHIR_URL"] == "http://from-environment"


def test_unset_variable_in_a_typed_key_names_the_variable(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "{}\n",
            "src/channels/a/channel.yaml": MINIMAL_CHANNEL.format(id="a", port="${DICOM_PORT}"),
        }
    )
    project = load_project(root, environ={})
    [error] = project.errors
    assert error.line == 6 and error.key_path == "listener.dicom.port"
    assert "DICOM_PORT is not set" in error.message


def test_all_channels_are_listed_but_only_runnable_dicom_ones_run(write_files: WriteFiles) -> None:
    root = write_files(
        {
            "intu.yaml": "channels_dir: channels\n",
            "channels/a/channel.yaml": MINIMAL_CHANNEL.format(id="a", port=11112),
            "channels/b/channel.yaml": "id: b\nenabled: false\nlistener:\n  type: dicom\n"
            "  dicom:\n    port: 11113\n",
            "channels/c/channel.yaml": "id: c\nenabled: true\nlistener:\n  type: http\n"
            "  http:\n    port: 8080\n",
            "channels/group/deeper/d/channel.yaml": MINIMAL_CHANNEL.format(id="d", port=11114),
            "channels/e/channel.yaml": MINIMAL_CHANNEL.format(id="e", port=11115)
            + "profiles: [prod]\n",
            "channels/a/node_modules/x/channel.yaml": "not: a channel\n",
        }
    )
    project = load_project(root, environ={})
    assert project.errors == []
    assert [c.id for c in project.channels] == ["a", "b", "c", "e", "d"]
    assert [c.id for c in project.dicom_channels] == ["a", "d"]
    http = project.channels[2]
    assert http.listener_type == "http" and http.dicom is None
    assert project.channels[3].in_profile is False
    prod = load_project(root, profile="prod", environ={})
    assert [c.id for c in prod.dicom_channels] == ["a", "e", "d"]


def test_channel_files_resolve_named_destinations_from_nearest_intu_yaml(
    spec_project: Path,
) -> None:
    (spec_project / ".env").write_text("PACS_HOST=pacs.from.env\n", encoding="utf-8")
    (spec_project / "intu.yaml").write_text(
        SPEC_INTU.replace("pacs.example.org", "${PACS_HOST}"), encoding="utf-8"
    )
    channel_file = spec_project / "src/channels/dicom-radiology-ingest/channel.yaml"
    project = load_channel_files([channel_file], environ={})
    assert project.errors == []
    assert project.root == spec_project
    assert project.intu_file == spec_project / "intu.yaml"
    [channel] = project.channels
    assert channel.destinations[1].options["host"] == "pacs.from.env"


def test_channel_file_without_any_intu_yaml(tmp_path: Path) -> None:
    channel_file = tmp_path / "alone" / "channel.yaml"
    channel_file.parent.mkdir()
    channel_file.write_text(MINIMAL_CHANNEL.format(id="alone", port=11112), encoding="utf-8")
    project = load_channel_files([channel_file], environ={})
    assert project.errors == []
    assert project.root is None and project.intu_file is None
    assert [c.id for c in project.dicom_channels] == ["alone"]


def test_inline_and_referenced_destinations(spec_project: Path) -> None:
    channel_file = spec_project / "src/channels/dicom-radiology-ingest/channel.yaml"
    text = SPEC_CHANNEL.replace(
        "  - pacs-archive\n",
        "  - ref: pacs-archive\n"
        "    retry:\n"
        "      max_attempts: 2\n"
        "  - name: audit\n"
        "    type: log\n"
        "  - name: fhir-imaging-api\n"
        "  - type: http\n"
        "    http:\n"
        "      url: https://hooks.example.org/dicom\n"
        "  - type: kafka\n"
        "    kafka:\n"
        "      topic: dicom\n",
    )
    channel_file.write_text(text, encoding="utf-8")
    project = load_project(spec_project, environ={})
    assert project.errors == []
    dests = project.channels[0].destinations
    assert [(d.name, d.type) for d in dests] == [
        ("fhir-imaging-api", "fhir"),
        ("pacs-archive", "dicom"),
        ("audit", "log"),
        ("fhir-imaging-api", "fhir"),
        ("dicom-radiology-ingest-destination-5", "http"),
        ("dicom-radiology-ingest-destination-6", "kafka"),
    ]
    assert dests[1].retry.max_attempts == 2
    assert dests[1].options["host"] == "pacs.example.org"
    assert dests[2].options == {} and dests[2].supported
    assert dests[4].options == {"url": "https://hooks.example.org/dicom"}
    assert dests[4].source == channel_file and dests[4].line == 30
    assert not dests[5].supported  # kept, flagged as unsupported at run time


def test_tls_on_off_rules(write_files: WriteFiles) -> None:
    def channel_with(tls: str) -> str:
        return MINIMAL_CHANNEL.format(id="a", port=2762) + "    tls:\n" + tls

    files = {"certs/dicom.crt": "cert", "src/channels/a/dicom.key": "key", "certs/ca.pem": "ca"}
    both = "      cert_file: ../../../certs/dicom.crt\n      key_file: dicom.key\n"
    cases = {
        "files only": (both, True),
        "enabled false": (both + "      enabled: false\n", False),
        "enabled true": (both + "      enabled: true\n", True),
        "empty block": ("      min_version: '1.3'\n", False),
    }
    for name, (tls, expected_on) in cases.items():
        root = write_files(
            {**files, "intu.yaml": "{}\n", "src/channels/a/channel.yaml": channel_with(tls)}
        )
        [channel] = load_project(root, environ={}).channels
        assert channel.errors == [], name
        assert channel.dicom is not None
        assert (channel.dicom.tls is not None) is expected_on, name
        if channel.dicom.tls is not None:
            assert channel.dicom.tls.cert_file == root / "certs/dicom.crt"
            assert channel.dicom.tls.key_file == root / "src/channels/a/dicom.key"
            assert channel.dicom.tls.client_auth == "none"
            assert channel.dicom.tls.min_version == "1.2"

    mutual = (
        both
        + "      ca_file: /nonexistent/ca.pem\n      client_auth: require\n      min_version: 1.3\n"
    )
    root = write_files(
        {
            **files,
            "intu.yaml": "{}\n",
            "src/channels/a/channel.yaml": channel_with(
                mutual.replace(
                    "/nonexistent/ca.pem", str(Path("..") / ".." / ".." / "certs/ca.pem")
                )
            ),
        }
    )
    [channel] = load_project(root, environ={}).channels
    assert channel.errors == []
    assert channel.dicom is not None and channel.dicom.tls is not None
    assert channel.dicom.tls.ca_file == root / "certs/ca.pem"
    assert channel.dicom.tls.client_auth == "require"
    assert channel.dicom.tls.min_version == "1.3"
