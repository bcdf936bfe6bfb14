"""The three-way line merge that keeps untouched lines byte-identical."""

from __future__ import annotations

from intu_desktop.config.textmerge import merge_edit

ORIGINAL = "a:    1\nb:   [1,2]\nc: 3\nd: x"
BASE = "a: 1\nb: [1, 2]\nc: 3\nd: x\n"  # what ruamel makes of ORIGINAL


def test_no_edit_returns_the_original() -> None:
    assert merge_edit(ORIGINAL, BASE, BASE) == ORIGINAL


def test_edit_keeps_untouched_reformatted_lines() -> None:
    assert merge_edit(ORIGINAL, BASE, BASE.replace("c: 3", "c: 4")) == ORIGINAL.replace(
        "c: 3", "c: 4"
    )


def test_edit_of_a_reformatted_line_uses_the_edit() -> None:
    edited = BASE.replace("[1, 2]", "[1, 2, 3]")
    assert merge_edit(ORIGINAL, BASE, edited) == "a:    1\nb: [1, 2, 3]\nc: 3\nd: x"


def test_append_after_a_last_line_without_newline() -> None:
    merged = merge_edit(ORIGINAL, BASE, BASE + "z: 9\n")
    assert merged == "a:    1\nb:   [1,2]\nc: 3\nd: x\nz: 9\n"


def test_deletion() -> None:
    assert merge_edit(ORIGINAL, BASE, "a: 1\nc: 3\nd: x\n") == "a:    1\nc: 3\nd: x"
