from __future__ import annotations

import io
import json

import pytest

from intu_desktop.export import EXPORT_COLUMNS, ExportOptions, export_rows, normalize_row


def test_json_round_trip(tmp_path, file_rows, make_row):
    rows = [*file_rows, make_row(patientName='Müller^Zoë "Zo", Jr\n山田^太郎')]
    out = tmp_path / "export.json"

    assert export_rows(rows, out, ExportOptions(format="json")) == len(rows)

    text = out.read_text(encoding="utf-8")
    assert not text.startswith("\ufeff")
    loaded = json.loads(text)
    assert [list(obj) for obj in loaded] == [list(EXPORT_COLUMNS)] * len(rows)
    assert loaded == [normalize_row(row) for row in rows]
    assert loaded[-1]["patientName"] == 'Müller^Zoë "Zo", Jr\n山田^太郎'
    assert all(isinstance(obj["numberOfFrames"], int) for obj in loaded)
    assert all(isinstance(obj["size"], int) for obj in loaded)


def test_ndjson_round_trip(tmp_path, file_rows):
    out = tmp_path / "export.ndjson"
    export_rows(file_rows, out, ExportOptions(format="ndjson", bom=True))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(file_rows)
    assert [json.loads(line) for line in lines] == [normalize_row(row) for row in file_rows]
    assert file_rows[0]["patientName"] == json.loads(lines[0])["patientName"]


@pytest.mark.parametrize(("fmt", "expected"), [("json", []), ("ndjson", None), ("csv", None)])
def test_empty_export(fmt, expected):
    out = io.BytesIO()
    assert export_rows([], out, ExportOptions(format=fmt)) == 0
    if fmt == "json":
        assert json.loads(out.getvalue()) == expected
    elif fmt == "ndjson":
        assert out.getvalue() == b""
    else:
        assert out.getvalue() == (",".join(EXPORT_COLUMNS) + "\r\n").encode()


def test_numbers_from_strings_and_extra_keys_dropped(make_row):
    row = make_row(numberOfFrames="12", size="2048", transformerOutput='{"a": 1}')
    obj = normalize_row(row)
    assert list(obj) == list(EXPORT_COLUMNS)
    assert obj["numberOfFrames"] == 12 and obj["size"] == 2048


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown export format"):
        ExportOptions(format="xml")  # type: ignore[arg-type]
