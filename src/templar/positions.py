"""Where a document path is in a file: 1-based line and column, built only when asked.

Loading never needs positions; errors and ``--explain`` do. A :class:`PositionIndex`
is one ruamel.yaml round-trip parse of one file (JSON parses with it too), kept by
whoever asked for it, and answers any number of look-ups afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from templar.reader import read_bytes

#: 1-based (line, column)
Location = tuple[int, int]


@dataclass
class PositionIndex:
    """Exact 1-based line and column of any key or item in one file, computed on demand.

    Built from ruamel.yaml's round-trip loader, which JSON files parse with too.
    """

    path: Path
    _root: Any

    @classmethod
    def build(cls, path: Path) -> PositionIndex | None:
        """Parse ``path`` with positions, or return ``None`` if it cannot be parsed."""
        from ruamel.yaml import YAML

        try:
            text = read_bytes(path).decode("utf-8-sig")
            yaml = YAML(typ="rt")
            yaml.allow_duplicate_keys = True
            root = yaml.load(text)
        except Exception:
            return None
        return cls(path, root)

    def locate(self, doc_path: Sequence[Any], *, value: bool = False) -> Location | None:
        """Position of the last element of ``doc_path`` (a key or a list index); of its
        value rather than its key when ``value`` is true.

        Returns the closest known ancestor's position when the path is partly absent.
        """
        node = self._root
        found: Location | None = None
        last = len(doc_path) - 1
        for i, step in enumerate(doc_path):
            lc = getattr(node, "lc", None)
            try:
                if isinstance(node, list) and isinstance(step, int):
                    pos = lc.item(step) if lc is not None else None
                    node = node[step]
                elif isinstance(node, dict) and step in node:
                    if lc is None:
                        pos = None
                    else:
                        pos = lc.value(step) if value and i == last else lc.key(step)
                    node = node[step]
                else:
                    break
            except (KeyError, IndexError, TypeError, AttributeError):
                break
            if pos is not None:
                found = (pos[0] + 1, pos[1] + 1)
        return found
