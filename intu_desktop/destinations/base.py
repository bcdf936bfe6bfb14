"""What every destination type shares: the delivery it is handed and the result it returns.

A destination never raises for trouble with its peer: it answers with a DeliveryResult
that says whether the failure is worth retrying (RELIABILITY 20). The queue decides when.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from intu_desktop.destinations.secrets import SecretMasker


@dataclass(frozen=True)
class DeliveryContext:
    """One attempt to deliver one pipeline run's output to one destination."""

    delivery_id: int
    attempt: int  # 1 for the first attempt
    channel_id: str
    destination: str
    message_id: str
    run_id: int
    instance_id: int
    body: str | None  # the transformer's output (or the message body without a transformer)
    content_type: str
    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str
    storage_path: Path  # the stored DICOM file (the dicom destination sends this, not the body)
    transfer_syntax: str
    created_at: float  # when the run produced the output: stable across retries


@dataclass(frozen=True)
class DeliveryResult:
    """ok: delivered. Otherwise `retryable` says whether the queue tries again later."""

    ok: bool
    retryable: bool = False
    response: str = ""  # what the peer answered (status line, DICOM status), for the record
    error: str = ""  # why it failed, in words
    retry_after: float | None = None  # seconds the peer asked us to wait (HTTP Retry-After)

    @classmethod
    def delivered(cls, response: str) -> DeliveryResult:
        return cls(ok=True, response=response)

    @classmethod
    def transient(cls, error: str, response: str = "", retry_after: float | None = None) -> DeliveryResult:
        return cls(ok=False, retryable=True, response=response, error=error, retry_after=retry_after)

    @classmethod
    def permanent(cls, error: str, response: str = "") -> DeliveryResult:
        return cls(ok=False, retryable=False, response=response, error=error)


class Destination(Protocol):
    """A configured destination. `send` must not raise for peer or network trouble."""

    name: str
    type: str
    masker: SecretMasker  # every text this destination returns is masked with it

    def send(self, delivery: DeliveryContext) -> DeliveryResult: ...

    def close(self) -> None:
        """Release resources and break any attempt in flight (called on stop, possibly from another thread)."""
        ...
