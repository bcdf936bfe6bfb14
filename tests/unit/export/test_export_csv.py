from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intu_desktop.export import EXPORT_COLUMNS, ExportOptions, export_rows

HARD_VALUES = {
    "patientName": 'Müller^Zoë "Zo", Jr',
    "studyDescription": "line one\nline two\r\nthree, with comma",
    "referringPhysician": "山田^太郎",
    "accessionNumber": '"quoted"',
    "bodyPartExamined": "",
}


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def test_header_and_values_round_trip(tmp_path, file_rows, make_row):
    rows = [*file_rows, make_row(**HARD_VALUES)]
    out = tmp_path / "export.csv"

    assert export_rows(rows, out, ExportOptions(format="csv")) == len(rows)

    table = read_csv(out)
    assert table[0] == list(EXPORT_COLUMNS)
    assert len(table) == len(rows) + 1
    for row, line in zip(rows, table[1:]):
        assert line == [str(row.get(column, "")) for column in EXPORT_COLUMNS]


def test_rfc4180_line_ends_and_no_bom_by_default(tmp_path, make_row):
    out = tmp_path / "export.csv"
    export_rows([make_row(**HARD_VALUES)], out, ExportOptions(format="csv"))
    data = out.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.split(b"\r\n", 1)[0] == ",".join(EXPORT_COLUMNS).encode()
    assert data.endswith(b"\r\n")
    assert '"Müller^Zoë ""Zo"", Jr"'.encode() in data
    assert "山田^太郎".encode() in data


def test_bom_option(tmp_path, make_row):
    out = tmp_path / "export.csv"
    export_rows([make_row()], out, ExportOptions(format="csv", bom=True))
    assert out.read_bytes().startswith(b"\xef\xbb\xbfstudyInstanceUid,")
    assert read_csv(out)[0] == list(EXPORT_COLUMNS)


def test_missing_and_none_values_become_empty(tmp_path, make_row):
    row = make_row(studyDescription=None, numberOfFrames=None)
    del row["modality"]
    out = tmp_path / "export.csv"
    export_rows([row], out, ExportOptions(format="csv"))
    values = dict(zip(EXPORT_COLUMNS, read_csv(out)[1]))
    assert values["studyDescription"] == ""
    assert values["modality"] == ""
    assert values["numberOfFrames"] == "1"  # DESIGN §3: 1 when absent


def test_binary_and_text_streams(make_row):
    rows = [make_row(**HARD_VALUES)]
    binary = io.BytesIO()
    export_rows(rows, binary, ExportOptions(format="csv", bom=True))
    text = io.StringIO(newline="")
    export_rows(rows, text, ExportOptions(format="csv", bom=True))
    assert binary.getvalue().decode("utf-8") == text.getvalue()
    assert not binary.closed


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)"])
def test_formula_guard(tmp_path, make_row, value):
    out = tmp_path / "export.csv"
    export_rows([make_row(studyDescription=value)], out, ExportOptions(csv_formula_guard=True))
    values = dict(zip(EXPORT_COLUMNS, read_csv(out)[1]))
    assert values["studyDescription"] == "'" + value
    assert values["patientName"] == "Müller^Zoë"


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
        min_size=3,
        max_size=3,
    )
)
def test_any_text_round_trips(values):
    row = {"patientName": values[0], "studyDescription": values[1], "accessionNumber": values[2]}
    out = io.BytesIO()
    export_rows([row], out, ExportOptions(format="csv", bom=True))
    text = out.getvalue().decode("utf-8-sig")
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [parsed[0][key] for key in row] == values


def test_lone_surrogate_does_not_fail_the_export(tmp_path, make_row):
    out = tmp_path / "export.csv"
    export_rows([make_row(patientName="bad\udcff")], out, ExportOptions())
    assert read_csv(out)[1][EXPORT_COLUMNS.index("patientName")] == "bad?"
