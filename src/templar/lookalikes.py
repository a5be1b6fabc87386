"""Template ids that look like other ids: Unicode's confusables (UTS #39), through the
``confusable-homoglyphs`` library and the data it ships from Unicode's ``confusables.txt``.

:func:`skeleton` writes an id with every letter that has an ASCII look-alike replaced
by it: ``pop`` in Cyrillic letters (U+0440 U+043E U+0440) and in ASCII share the skeleton ``pop``, so two ids
of one config with one skeleton are told apart by the eye only (a did-you-mean in the
making). :func:`ascii_lookalike` is the ASCII id an id written in look-alike letters
reads as. An ASCII id is its own skeleton: nothing is looked up for it, so a config of
ASCII ids costs nothing here.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)
def skeleton(text: str) -> str:
    """``text`` with each character that is not ASCII but that Unicode lists as
    confusable with an ASCII one (Cyrillic a, U+0430; Greek o, U+03BF) replaced by it, after
    folding compatibility forms (fullwidth a, U+FF41)."""
    if text.isascii():
        return text
    from confusable_homoglyphs import confusables

    # compatibility forms first (fullwidth letters, ligatures): they are drawn as their base
    text = unicodedata.normalize("NFKC", text)
    found = confusables.is_confusable(text, greedy=True, preferred_aliases=["latin"]) or []
    ascii_of: dict[str, str] = {}
    for item in found:
        if item["character"].isascii():
            continue  # an ASCII character stays itself (``1`` is not turned into ``l``)
        for glyph in item["homoglyphs"]:
            if glyph["c"].isascii() and glyph["c"].isprintable():
                ascii_of.setdefault(item["character"], glyph["c"])
                break
    return "".join(ascii_of.get(char, char) for char in text)


def ascii_lookalike(text: str) -> str | None:
    """The ASCII id ``text`` reads as, when it has letters that are not ASCII and every
    one of them looks like an ASCII letter (Cyrillic U+0440 U+043E U+0440 -> ``pop``); else ``None``."""
    if text.isascii():
        return None
    lookalike = skeleton(text)
    return lookalike if lookalike.isascii() else None


def scripts_of(text: str) -> set[str]:
    """The scripts of the letters of ``text`` (LATIN, CYRILLIC, GREEK, ...), from their
    Unicode names: ``web-server`` written with a Cyrillic e (U+0435) has two."""
    if text.isascii():
        return {"LATIN"} if any(c.isalpha() for c in text) else set()
    return {unicodedata.name(c, "UNKNOWN").split()[0] for c in text if c.isalpha()}
