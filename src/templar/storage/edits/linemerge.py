"""The three-way line merge that keeps every line an edit did not change."""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

# --------------------------------------------------------------------------- merge


def three_way(ours: list[str], base: list[str], theirs: list[str]) -> list[str]:
    """``theirs``' changes to ``base`` applied to ``ours``, which differs from ``base``
    in formatting only. Where both touch the same lines, ``theirs`` wins."""
    if ours == base:
        return theirs
    if base == theirs:
        return ours
    ops_ours = SequenceMatcher(None, base, ours, autojunk=False).get_opcodes()
    ops_theirs = SequenceMatcher(None, base, theirs, autojunk=False).get_opcodes()
    hunks = sorted(
        [(i1, i2, "o") for tag, i1, i2, _, _ in ops_ours if tag != "equal"]
        + [(i1, i2, "t") for tag, i1, i2, _, _ in ops_theirs if tag != "equal"]
    )
    clusters: list[list[Any]] = []
    for b1, b2, side in hunks:
        if clusters and (b1 < clusters[-1][1] or b1 == clusters[-1][0]):
            clusters[-1][1] = max(clusters[-1][1], b2)
            clusters[-1][2] |= side == "t"
        else:
            clusters.append([b1, b2, side == "t"])
    out: list[str] = []
    pos = 0
    for b1, b2, edited in clusters:
        out += ours[_map(ops_ours, pos) : _map(ops_ours, b1)]
        if edited:
            out += theirs[_map(ops_theirs, b1) : _map(ops_theirs, b2, end=True)]
        else:
            out += ours[_map(ops_ours, b1) : _map(ops_ours, b2, end=True)]
        pos = b2
    out += ours[_map(ops_ours, pos) :]
    return out


def _map(opcodes: Sequence[tuple[str, int, int, int, int]], pos: int, *, end: bool = False) -> int:
    """Where base line ``pos`` (a hunk's edge, or inside an unchanged stretch) falls in
    the other text; an insertion right at ``pos`` counts as before it, or after it
    when ``end``."""
    for tag, i1, i2, j1, _j2 in opcodes:
        if i1 <= pos < i2:
            return j1 + (pos - i1) if tag == "equal" else j1
        if pos == i1 == i2 and not end:
            return j1
    return opcodes[-1][4] if opcodes else 0
