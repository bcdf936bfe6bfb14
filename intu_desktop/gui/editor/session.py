"""One YAML file being edited: the current text, its parsed document, and what is on disk.

No Qt here. The text is the single source of truth: the form writes through `set_value`
(ruamel round trip, so untouched lines keep their bytes, DESIGN §4), the YAML tab through
`set_text`, and undo restores earlier texts. The file on disk is only ever written by
`save`, which refuses when another program changed the file since it was read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError

from intu_desktop.config import ConfigError, YamlDocument

KeyPath = Sequence[str | int]
_BOM = "\ufeff"
_SYNTAX_KEY = "(syntax)"


class ExternalChangeError(Exception):
    """The file on disk is no longer what the editor read or last saved."""


class EditSession:
    """The edit state of one file. `path` may not exist yet (a new, unsaved channel)."""

    def __init__(self, path: Path, disk: bytes | None, text: str | None = None) -> None:
        """`disk` is the file's bytes as read (None: no file yet); `text` the starting text
        when it differs from the file (a new channel, a clone)."""
        self.path = Path(path)
        self._disk: bytes | None = None
        self._saved: str | None = None
        self._bom = self._crlf = False
        self._text = ""
        self._doc: YamlDocument | None = None
        self.syntax_error: ConfigError | None = None
        self._take_disk(disk, keep_format=False)
        self.set_text(text if text is not None else self._saved or "")

    @classmethod
    def open(cls, path: Path) -> EditSession:
        """Raises OSError or UnicodeDecodeError for the caller to show in words."""
        data = Path(path).read_bytes()
        data.decode("utf-8")
        return cls(path, data)

    # -- state -------------------------------------------------------------------------
    @property
    def is_new(self) -> bool:
        """Never saved: there is no file for this session yet."""
        return self._saved is None

    @property
    def parsed(self) -> bool:
        return self._doc is not None

    def text(self) -> str:
        """The text as it would be saved (line feeds only; the file's CRLF and BOM are kept
        on save)."""
        return self._text

    def saved_text(self) -> str:
        return self._saved or ""

    def is_dirty(self) -> bool:
        return self._saved is None or self._text != self._saved

    def get(self, key_path: KeyPath, default: Any = None) -> Any:
        return self._doc.get(key_path, default) if self._doc is not None else default

    def data(self) -> Any:
        return self._doc.data if self._doc is not None else None

    # -- changes -----------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """Replace the whole text (YAML tab, undo). A syntax error keeps the text and
        leaves the session unparsed until the text is fixed."""
        self._text = _lf(text)
        try:
            doc = YamlDocument(self.path, self._encoded_text(self._text))
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            what = exc.problem or exc.context or "invalid YAML"
            self._unparsed(ConfigError(self.path, line, _SYNTAX_KEY, f"YAML syntax error: {what}"))
            return
        except YAMLError as exc:
            self._unparsed(ConfigError(self.path, 1, _SYNTAX_KEY, f"YAML error: {exc}"))
            return
        if not isinstance(doc.data, dict):
            message = "the file must be a mapping of keys (id, listener, ...)"
            self._unparsed(ConfigError(self.path, 1, "(root)", message))
            return
        self._doc, self.syntax_error = doc, None

    def set_value(self, key_path: KeyPath, value: Any) -> None:
        """Set one value through the round-trip document (only its lines change)."""
        doc = self._require_doc()
        doc.set(key_path, value)
        self._text = _lf(doc.text())

    def delete_value(self, key_path: KeyPath) -> None:
        """Remove a key, and mappings left empty by it (an empty `tls: {}` means nothing)."""
        doc = self._require_doc()
        path = list(key_path)
        if not doc.delete(path):
            return
        while len(path) > 1:
            path.pop()
            parent = doc.get(path)
            if isinstance(parent, dict) and not parent:
                doc.delete(path)
            else:
                break
        self._text = _lf(doc.text())

    def _require_doc(self) -> YamlDocument:
        if self._doc is None:
            raise RuntimeError("the YAML text has a syntax error; fix it before using the form")
        return self._doc

    def _unparsed(self, error: ConfigError) -> None:
        self._doc, self.syntax_error = None, error

    # -- disk --------------------------------------------------------------------------
    def changed_on_disk(self) -> bool:
        """True when the file no longer holds what was read or last saved (or appeared,
        or vanished)."""
        try:
            current: bytes | None = self.path.read_bytes()
        except FileNotFoundError:
            current = None
        except OSError:
            return True
        return current != self._disk

    def save(self, path: Path | None = None) -> None:
        """Atomic save (YamlDocument.save: temporary file, fsync, rename). Raises
        ExternalChangeError instead of overwriting a file another program changed, and
        OSError for the caller to show."""
        target = Path(path) if path is not None else self.path
        if target == self.path and self.changed_on_disk():
            raise ExternalChangeError(f"{self.path} was changed by another program")
        if target != self.path and target.exists():
            raise ExternalChangeError(f"{target} already exists")
        doc = self._require_doc()
        target.parent.mkdir(parents=True, exist_ok=True)
        doc.save(target)
        self.path = target
        self._disk = target.read_bytes()
        self._saved = self._text

    def reload(self) -> None:
        """Take the file's current content; the edits are dropped. Raises OSError."""
        data = self.path.read_bytes()
        data.decode("utf-8")
        self._take_disk(data, keep_format=False)
        self.set_text(self._saved or "")

    def accept_disk_state(self) -> None:
        """Keep the edits and let the next save replace what is now on disk (the user chose
        to keep their version after being told about the outside change)."""
        try:
            data: bytes | None = self.path.read_bytes()
        except FileNotFoundError:
            data = None
        self._take_disk(data, keep_format=True)

    def _take_disk(self, disk: bytes | None, *, keep_format: bool) -> None:
        self._disk = disk
        try:
            decoded = disk.decode("utf-8") if disk is not None else ""
        except UnicodeDecodeError:
            decoded = ""  # another program wrote something else; saving replaces it
        if not keep_format and disk is not None:
            self._bom = decoded.startswith(_BOM)
            self._crlf = "\r\n" in decoded
        self._saved = _lf(decoded.removeprefix(_BOM)) if disk is not None else None

    def _encoded_text(self, text: str) -> str:
        # YamlDocument keeps a BOM and CRLF line ends when the text it starts from has them.
        body = text.replace("\n", "\r\n") if self._crlf else text
        return (_BOM if self._bom else "") + body


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")
