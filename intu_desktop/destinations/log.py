"""The `log` destination (a desktop extension): one log line per message, UIDs only.

The body is never logged: it is the transformer's output and usually carries patient
data (RELIABILITY 29). The line says what was produced, for which object, and its size.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from intu_desktop.destinations.base import DeliveryContext, DeliveryResult
from intu_desktop.destinations.secrets import SecretMasker
from intu_desktop.destinations.settings import Settings

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING}


class LogDestination:
    type = "log"

    def __init__(self, name: str, options: dict[str, Any], base_dir: Path,
                 logger: logging.Logger | None = None) -> None:
        self.name = name
        self.masker = SecretMasker.from_options(options)
        settings = Settings(options, "log", base_dir)
        self.level = _LEVELS.get(settings.text("level", "info").lower(), logging.INFO)
        self.logger = logger or logging.getLogger("intu_desktop.destinations.log")

    def send(self, delivery: DeliveryContext) -> DeliveryResult:
        size = len((delivery.body or "").encode("utf-8"))
        self.logger.log(
            self.level,
            "destination %s: channel %s message %s: SOP instance %s, study %s, %s (%d bytes)",
            self.name, delivery.channel_id, delivery.message_id, delivery.sop_instance_uid,
            delivery.study_instance_uid, delivery.content_type or "no content type", size,
        )
        return DeliveryResult.delivered(f"logged ({size} bytes)")

    def close(self) -> None:
        pass
