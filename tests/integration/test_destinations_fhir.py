"""Issue 4 acceptance, fhir: a real HTTP FHIR server that validates bodies with fhir.resources.

- valid ImagingStudy resources arrive; resending a study updates it, never duplicates;
- server stopped, 50 objects queued, app restarted, server back: all 50 exactly once;
- a 4xx is a dead letter at once with the OperationOutcome text, a manual retry after the
  server is fixed delivers it; a 5xx is retried with backoff;
- OAuth2 client credentials, and HTTPS with mutual TLS.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from destinations_support import (
    FAST,
    project_with,
    queue,
    rows,
    spec_imaging_study,
    wait_status,
    wait_until,
)
from fhir_server import FhirServer

from intu_desktop.config.model import DestinationConfig, RetryConfig
from intu_desktop.destinations.service import DeliveryService
from intu_desktop.events import Event, EventBus
from intu_desktop.index.db import Index


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index(tmp_path / "index.sqlite3")
    yield idx
    idx.close()


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    server = FhirServer().start()
    yield server
    server.stop()


@pytest.fixture
def services(index: Index, tmp_path: Path) -> Iterator[list[DeliveryService]]:
    started: list[DeliveryService] = []
    yield started
    for service in started:
        service.stop()


def _start(index: Index, project, started: list[DeliveryService], bus: EventBus | None = None) -> DeliveryService:
    service = DeliveryService(index, bus or EventBus(), project, index.path.parent, poll_interval_s=0.2)
    service.start()
    started.append(service)
    return service


def _fhir_dest(base_url: str, retry: RetryConfig = FAST, **options: object) -> DestinationConfig:
    return DestinationConfig(name="fhir-imaging-api", type="fhir",
                             options={"base_url": base_url, "version": "R4", **options}, retry=retry)


def test_valid_imaging_study_arrives_and_resending_updates(index: Index, fhir: FhirServer, services) -> None:
    project = project_with(_fhir_dest(fhir.base_url))
    service = _start(index, project, services)
    first = queue(index, service, project, body=spec_imaging_study("1.2.840.99.1", sop_uid="1.2.840.99.1.1.1"))
    (row,) = wait_status(index, first, "delivered")
    assert "HTTP 201 Created" in row["last_response"] and "Location:" in row["last_response"]
    assert row["last_response"].startswith("PUT /ImagingStudy?identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.840.99.1")

    # A second instance of the same study: the conditional update finds the study.
    second = queue(index, service, project, body=spec_imaging_study("1.2.840.99.1", sop_uid="1.2.840.99.1.1.2",
                                                                    description="CT HEAD"))
    (row,) = wait_status(index, second, "delivered")
    assert "HTTP 200 OK" in row["last_response"]

    (study,) = fhir.search("ImagingStudy", "urn:dicom:uid|urn:oid:1.2.840.99.1")
    assert study["meta"]["versionId"] == "2" and study["description"] == "CT HEAD"
    assert len(fhir.resources("ImagingStudy")) == 1
    # Lenient like production servers: R4 has no instance.numberOfFrames; dropped with a warning.
    assert "numberOfFrames" not in study["series"][0]["instance"][0]
    assert any("numberOfFrames: unknown element dropped" in w for w in fhir.warnings)
    assert [r.headers["Content-Type"] for r in fhir.requests_for("PUT")] == ["application/fhir+json; charset=utf-8"] * 2


def test_fifty_objects_exactly_once_across_a_restart_while_the_server_is_down(
        index: Index, fhir: FhirServer, services) -> None:
    fhir.stop()  # the port is remembered; nothing listens there now
    project = project_with(_fhir_dest(fhir.base_url))
    service = _start(index, project, services)
    ids = [queue(index, service, project, body=spec_imaging_study(f"1.2.840.77.{n}"))[0] for n in range(50)]
    # Wait until the queue has met the dead server, then "restart the app".
    wait_until(lambda: rows(index, ids[:1])[0]["attempts"] >= 2)
    service.stop()
    assert {r["status"] for r in rows(index, ids)} == {"pending"}

    restarted = _start(index, project, services)
    fhir.start()  # same port
    delivered = wait_status(index, ids, "delivered")
    assert restarted is not service
    studies = fhir.resources("ImagingStudy")
    assert len(studies) == 50
    identifiers = sorted(s["identifier"][0]["value"] for s in studies)
    assert identifiers == sorted(f"urn:oid:1.2.840.77.{n}" for n in range(50))
    puts = fhir.requests_for("PUT")
    assert len(puts) == 50 and {p.status for p in puts} == {201}  # each created once, none resent
    # Only the first row spent attempts probing the dead server; the others waited behind it.
    assert all(r["attempts"] == 1 for r in delivered[1:])


def test_client_error_is_dead_lettered_with_the_operation_outcome_then_retried(
        index: Index, services) -> None:
    strict = FhirServer(strict=True).start()
    try:
        project = project_with(_fhir_dest(strict.base_url))
        service = _start(index, project, services)
        ids = queue(index, service, project, body=spec_imaging_study("1.2.840.88.1", description="CT"))
        (row,) = wait_status(index, ids, "failed")
        assert row["attempts"] == 1
        assert row["last_response"] == "HTTP 400 Bad Request"
        assert ("ImagingStudy.series[0].instance[0].numberOfFrames: unknown element (not part of R4 ImagingStudy)"
                in row["last_error"])
        assert len(strict.requests_for("PUT")) == 1  # never retried on its own

        strict.strict = False  # the server is fixed (it now accepts unknown elements)
        assert service.retry(ids[0])
        (row,) = wait_status(index, ids, "delivered")
        assert row["attempts"] == 1 and len(strict.resources("ImagingStudy")) == 1
    finally:
        strict.stop()


def test_server_error_is_retried_with_backoff(index: Index, fhir: FhirServer, services) -> None:
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    fhir.fail(500, "database is restarting", times=2)
    retry = RetryConfig(max_attempts=5, backoff="exponential", initial_delay_ms=40, max_delay_ms=1000, jitter=False)
    project = project_with(_fhir_dest(fhir.base_url, retry))
    service = _start(index, project, services, bus)
    ids = queue(index, service, project, body=spec_imaging_study("1.2.840.66.1"))
    (row,) = wait_status(index, ids, "delivered")
    assert row["attempts"] == 3
    updates = [e.data for e in events if e.data["delivery_id"] == ids[0]]
    assert [(u["status"], round(u["retry_in"], 3)) for u in updates[:2]] == [("pending", 0.04), ("pending", 0.08)]
    assert updates[0]["error"].endswith("HTTP 500 Internal Server Error: database is restarting")


def test_invalid_resource_is_refused_by_the_server(index: Index, fhir: FhirServer, services) -> None:
    project = project_with(_fhir_dest(fhir.base_url))
    service = _start(index, project, services)
    ids = queue(index, service, project, body='{"resourceType": "ImagingStudy", "status": "available", "started": "yesterday"}')
    (row,) = wait_status(index, ids, "failed")
    assert "ImagingStudy.started" in row["last_error"] and "ImagingStudy.subject" in row["last_error"]


def test_oauth2_client_credentials(index: Index, services) -> None:
    server = FhirServer(oauth_client=("intu-desktop", "client-secret-value")).start()
    try:
        project = project_with(_fhir_dest(server.base_url, auth={
            "type": "oauth2", "token_url": f"http://127.0.0.1:{server.port}/oauth/token",
            "client_id": "intu-desktop", "client_secret": "client-secret-value",
        }))
        service = _start(index, project, services)
        ids = [queue(index, service, project, body=spec_imaging_study(f"1.2.840.55.{n}"))[0] for n in range(3)]
        wait_status(index, ids, "delivered")
        assert len(server.issued_tokens) == 1  # fetched once, then cached
        assert len(server.resources("ImagingStudy")) == 3
    finally:
        server.stop()


def test_bearer_token_refused_is_a_dead_letter_without_the_token(index: Index, services) -> None:
    server = FhirServer(bearer_token="the-right-token").start()
    try:
        project = project_with(_fhir_dest(server.base_url, auth={"type": "bearer", "token": "a-wrong-token"}))
        service = _start(index, project, services)
        ids = queue(index, service, project, body=spec_imaging_study("1.2.840.44.1"))
        (row,) = wait_status(index, ids, "failed")
        assert row["last_response"] == "HTTP 401 Unauthorized"
        assert "a-wrong-token" not in row["last_error"]
    finally:
        server.stop()


def test_https_with_mutual_tls(index: Index, tmp_path: Path, services) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca.configure_trust(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    client = ca.issue_cert("intu-desktop@example.org")
    client_pem = tmp_path / "client.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    other_ca_file = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca_file))

    server = FhirServer(ssl_context=server_ctx).start()
    try:
        good = _fhir_dest(server.base_url, tls={"ca_file": str(ca_file), "client_cert_file": str(client_pem)})
        bad = DestinationConfig(name="untrusted", type="fhir", retry=FAST,
                                options={"base_url": server.base_url, "tls": {"ca_file": str(other_ca_file)}})
        project = project_with(good, bad)
        service = _start(index, project, services)
        ok_id, bad_id = queue(index, service, project, body=spec_imaging_study("1.2.840.33.1"))
        wait_status(index, [ok_id], "delivered")
        (row,) = wait_status(index, [bad_id], "failed")
        assert row["attempts"] == 1 and "TLS certificate not trusted" in row["last_error"]
        assert len(server.resources("ImagingStudy")) == 1
    finally:
        server.stop()
