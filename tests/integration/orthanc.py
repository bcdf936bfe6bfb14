"""Orthanc (Debian's package) as a real PACS for tests: loopback only, temporary storage.

    with Orthanc(tmp_path) as pacs:
        ... C-STORE to 127.0.0.1:pacs.dicom_port, called AE pacs.aet ...
        pacs.instances(), pacs.transfer_syntax(orthanc_id)

Extra configuration keys (for example ``{"Jpeg2000TransferSyntaxAccepted": False}``) are
merged over the defaults.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

ORTHANC_CANDIDATES = ("/usr/sbin/Orthanc", "/usr/bin/Orthanc", "/usr/local/bin/Orthanc")


def orthanc_binary() -> str | None:
    for candidate in ORTHANC_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("Orthanc")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Orthanc:
    def __init__(self, folder: Path, *, aet: str = "ORTHANC", extra: dict[str, Any] | None = None) -> None:
        self.folder = Path(folder)
        self.aet = aet
        self.extra = dict(extra or {})
        self.dicom_port = 0
        self.http_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 30.0) -> Self:
        binary = orthanc_binary()
        if binary is None:
            raise FileNotFoundError("Orthanc is not installed (apt-get install orthanc)")
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.dicom_port:  # a restart keeps its ports (and its storage)
            self.dicom_port, self.http_port = _free_port(), _free_port()
        config = {
            "Name": "intu-test-orthanc",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "index"),
            "DicomAet": self.aet,
            "DicomPort": self.dicom_port,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": False,
            "Plugins": [],
            "HttpServerEnabled": True,
            "DicomServerEnabled": True,
            **self.extra,
        }
        config_file = self.folder / "orthanc.json"
        config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
        self._log = open(self.folder / "orthanc.log", "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen([binary, str(config_file)], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self.stop()
                raise RuntimeError(f"Orthanc exited at start; see {self.folder / 'orthanc.log'}")
            try:
                self.get("/system")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("Orthanc did not answer GET /system in time")

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                # Orthanc takes seconds to wind down its thread pools after SIGTERM; a test
                # peer with throw-away storage need not wait (SQLite recovers on restart).
                self._process.terminate()
                try:
                    self._process.wait(0.5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(5)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST ----------------------------------------------------------------------------------
    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            data = resp.read()
        try:
            return json.loads(data)
        except ValueError:
            return data.decode("utf-8", "replace")

    def instances(self) -> list[str]:
        return list(self.get("/instances"))

    def transfer_syntax(self, orthanc_id: str) -> str:
        return str(self.get(f"/instances/{orthanc_id}/metadata/TransferSyntax")).strip()

    def sop_instance_uids(self) -> dict[str, str]:
        """SOP Instance UID -> Orthanc id, for every stored instance."""
        out = {}
        for orthanc_id in self.instances():
            tags = self.get(f"/instances/{orthanc_id}/simplified-tags")
            out[str(tags.get("SOPInstanceUID", ""))] = orthanc_id
        return out
