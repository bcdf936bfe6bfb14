"""Keep the user's bytes for every line a form edit did not touch.

ruamel.yaml's round trip keeps comments and order, but re-serialises some lines in its own
way (spacing after `key:`, flow sequences, `---`, a missing final newline, odd indentation).
A three-way line merge fixes that: `base` is ruamel's dump of the unchanged document,
`ours` the original text and `theirs` the dump after the edit. Where the edit did not change
ruamel's output, the original lines are kept; where it did, the edited lines are used.
"""

from __future__ import annotations

from difflib import SequenceMatcher


def _correspondence(a: list[str], b: list[str], *, pair_replacements: bool) -> dict[int, int]:
    """Map line numbers of `a` to `b`: equal lines, and optionally lines of same-sized
    replaced blocks (ruamel re-spacing one line is still the same line)."""
    mapping: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal" or (pair_replacements and tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(i2 - i1):
                mapping[i1 + k] = j1 + k
    return mapping


def merge_edit(original: str, base: str, edited: str) -> str:
    """`edited` with its unchanged regions restored to the bytes of `original`."""
    if base == edited:
        return original
    if base == original:
        return edited
    no_final_newline = bool(original) and not original.endswith("\n")
    ours = (original + "\n" if no_final_newline else original).splitlines(keepends=True)
    base_lines = base.splitlines(keepends=True)
    theirs = edited.splitlines(keepends=True)
    to_ours = _correspondence(base_lines, ours, pair_replacements=True)
    to_theirs = _correspondence(base_lines, theirs, pair_replacements=False)
    # Anchors: base lines the edit left alone and that exist in the original. Between two
    # anchors, as in diff3: the edited segment if the edit changed it, else the original's.
    anchors = [
        (i, to_ours[i], to_theirs[i])
        for i in range(len(base_lines))
        if i in to_ours and i in to_theirs
    ]
    anchors.append((len(base_lines), len(ours), len(theirs)))
    out: list[str] = []
    prev_b, prev_o, prev_t = -1, -1, -1
    for b, o, t in anchors:
        if o <= prev_o or t <= prev_t:
            return edited  # not monotonic: give up on preservation rather than garble
        seg_base = base_lines[prev_b + 1 : b]
        seg_theirs = theirs[prev_t + 1 : t]
        out.extend(ours[prev_o + 1 : o] if seg_theirs == seg_base else seg_theirs)
        if b < len(base_lines):
            out.append(ours[o])
        prev_b, prev_o, prev_t = b, o, t
    merged = "".join(out)
    if no_final_newline and out and out[-1] == ours[-1]:
        merged = merged[:-1]
    return merged
