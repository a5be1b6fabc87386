"""Where a document path is in a file: 1-based line and column, built only when asked.

Loading never needs positions; errors and ``--explain`` do. A :class:`PositionIndex`
is built for one file the first time something in it must be shown, kept by whoever
asked for it, and answers any number of look-ups afterwards.

It is one rapidyaml parse of the file in place (JSON parses with it too): every key
and scalar of the tree is a view into the file's bytes, so its offset, and from it
its line and column, is known without a second pass. That is about 400 times faster
than ruamel.yaml's round-trip loader (0.04 s against 17 s for a file of 1,000
HostFactory templates), so showing one issue in a large file costs about what
reading it did. ruamel.yaml's round-trip index is still the reference: where the
rapidyaml tree cannot answer (an alias or a merge key on the path, a file rapidyaml
does not parse), the index asks it instead, and both give the same positions
(``tests/test_position_index.py`` holds them to it).
"""

from __future__ import annotations

import ctypes
import hashlib
import re
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from templar.reader import read_bytes

#: 1-based (line, column)
Location = tuple[int, int]


class _PyBuffer(ctypes.Structure):
    """CPython's ``Py_buffer``: the address behind a ``memoryview``."""

    _fields_ = (
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    )


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = (ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int)
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = (ctypes.POINTER(_PyBuffer),)


def _address(view: Any) -> int:
    buffer = _PyBuffer()
    _get_buffer(view, ctypes.byref(buffer), 0)
    try:
        return int(buffer.buf or 0)
    finally:
        _release_buffer(ctypes.byref(buffer))


#: rapidyaml's "no node" (``size_t(-1)``)
_NONE = 2**64 - 1
_BLANK_OR_COMMENT = re.compile(rb"(?:[ \t\r\n]+|#[^\n]*)*")


class _FastTree:
    """A rapidyaml tree over the file's bytes, and offsets of its nodes in them."""

    def __init__(self, raw: bytes) -> None:
        import ryml

        self.text = raw  # unchanged: in-place parsing rewrites escaped scalars
        self._buffer = bytearray(raw)
        self.tree = ryml.parse_in_place(self._buffer)
        self._base = _address(self._buffer)
        self._end = self._base + len(self._buffer)
        self._line_starts: array[int] | None = None
        self._keys: dict[int, dict[str, int]] = {}
        self._items: dict[int, list[int]] = {}

    def root(self) -> int:
        """The node of the document."""
        root = int(self.tree.root_id())
        if self.tree.is_stream(root):
            first = self.tree.first_child(root)
            return int(first) if first != _NONE else root
        return root

    def _offset(self, view: Any) -> int | None:
        if view is None or len(view) == 0:
            return None
        address = _address(view)
        if not self._base <= address < self._end:
            return None  # a scalar rapidyaml had to copy: no place in the file
        return address - self._base

    def child_by_key(self, node: int, key: str) -> int | None:
        """The child of the mapping ``node`` under ``key`` (its first, if repeated)."""
        keys = self._keys.get(node)
        if keys is None:
            keys = {}
            for child in self._children(node):
                if self.tree.has_key(child):
                    keys.setdefault(bytes(self.tree.key(child)).decode("utf-8", "replace"), child)
            self._keys[node] = keys
        return keys.get(key)

    def child_at(self, node: int, index: int) -> int | None:
        """Item ``index`` of the sequence ``node``."""
        items = self._items.get(node)
        if items is None:
            items = self._items[node] = self._children(node)
        return items[index] if 0 <= index < len(items) else None

    def _children(self, node: int) -> list[int]:
        found = []
        child = self.tree.first_child(node)
        while child != _NONE:
            found.append(int(child))
            child = self.tree.next_sibling(child)
        return found

    def is_odd(self, node: int) -> bool:
        """Whether ``node`` is an alias or tagged: ruamel.yaml places those its own way."""
        tree = self.tree
        return bool(
            tree.is_ref(node)
            or tree.is_val_ref(node)
            or tree.has_val_tag(node)
            or (tree.has_key(node) and (tree.is_key_ref(node) or tree.has_key_tag(node)))
        )

    def has_refs(self, node: int) -> bool:
        """Whether the container ``node`` holds an alias or a merge key (``<<``)."""
        for child in self._children(node):
            if (
                self.tree.is_ref(child)
                or self.tree.is_key_ref(child)
                or self.tree.is_val_ref(child)
            ):
                return True
            if self.tree.has_key(child) and bytes(self.tree.key(child)) == b"<<":
                return True
        return False

    def key_offset(self, node: int) -> int | None:
        """Where the key of ``node`` starts (its opening quote, if quoted)."""
        offset = self._offset(self.tree.key(node))
        if offset is not None and self.tree.is_key_quoted(node):
            offset -= 1
        return offset

    def value_offset(self, node: int) -> int | None:
        """Where the value of the keyed ``node`` starts: the first token after its ``:``
        (a quote, a bracket, a block indicator, the dash of a block sequence, the first
        key of a block mapping)."""
        key = self._offset(self.tree.key(node))
        if key is None:
            return None
        colon = self.text.find(b":", key + len(self.tree.key(node)))
        if colon < 0:
            return None
        start = _BLANK_OR_COMMENT.match(self.text, colon + 1)
        return start.end() if start is not None else None

    def item_offset(self, node: int) -> int | None:
        """Where the sequence item ``node`` starts."""
        if self.tree.has_val(node) and not self.tree.is_container(node):
            offset = self._offset(self.tree.val(node))
            if offset is not None and self.tree.is_val_quoted(node):
                offset -= 1
            return offset
        children = self._children(node)
        if not children:
            return None
        first = children[0]
        inner = self.key_offset(first) if self.tree.has_key(first) else self.item_offset(first)
        if inner is None:
            return None
        if self.tree.is_flow(node):  # [a, b] or {k: v}: the opening bracket
            opening = max(self.text.rfind(b"[", 0, inner), self.text.rfind(b"{", 0, inner))
            return opening if opening >= 0 else None
        return inner

    def location(self, offset: int) -> Location:
        """1-based line and column of a byte offset (columns count characters)."""
        if self._line_starts is None:
            starts = array("q", [0])
            starts.extend(m.end() for m in re.finditer(b"\n", self.text))
            self._line_starts = starts
        line = bisect_right(self._line_starts, offset)
        start = self._line_starts[line - 1]
        column = len(self.text[start:offset].decode("utf-8", "replace")) + 1
        return (line, column)


class PositionIndex:
    """Exact 1-based line and column of any key or item in one file, computed on demand."""

    #: How many files this process has indexed (:meth:`build` calls). A documented seam
    #: for tests: a plain list or get must not add to it, cold cache or warm.
    built: ClassVar[int] = 0

    def __init__(self, path: Path, text: str, fast: _FastTree | None) -> None:
        self.path = path
        self._text = text
        self._fast = fast
        self._careful: Any = None
        self._careful_failed = False

    @classmethod
    def build(cls, path: Path, *, digest: str | None = None) -> PositionIndex | None:
        """Index ``path``, or return ``None`` if it cannot be read or parsed, or, with
        ``digest``, if its content is no longer the one whose SHA-256 that is."""
        PositionIndex.built += 1
        try:
            raw = read_bytes(path)
            if digest is not None and hashlib.sha256(raw).hexdigest() != digest:
                return None
        except Exception:
            return None
        return cls._parse(path, raw)

    @classmethod
    def parse(cls, path: Path, raw: bytes) -> PositionIndex | None:
        """Index the bytes ``raw`` (of ``path``, or of a part of it: one template's
        entry), or return ``None`` if they cannot be decoded or parsed. Counted in
        :attr:`built` as :meth:`build` is."""
        PositionIndex.built += 1
        return cls._parse(path, raw)

    @classmethod
    def _parse(cls, path: Path, raw: bytes) -> PositionIndex | None:
        try:
            text = raw.decode("utf-8-sig")
        except Exception:
            return None
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            fast: _FastTree | None = _FastTree(raw)
        except Exception:
            fast = None
        index = cls(path, text, fast)
        if fast is None and index._careful_root() is None:
            return None
        return index

    def locate(self, doc_path: Sequence[Any], *, value: bool = False) -> Location | None:
        """Position of the last element of ``doc_path`` (a key or a list index); of its
        value rather than its key when ``value`` is true.

        Returns the closest known ancestor's position when the path is partly absent.
        """
        if self._fast is not None:
            found = self._locate_fast(self._fast, doc_path, value)
            if found is not _ASK_CAREFUL:
                return found  # type: ignore[return-value]
        return self._locate_careful(doc_path, value)

    def _locate_fast(self, fast: _FastTree, doc_path: Sequence[Any], value: bool) -> object:
        tree = fast.tree
        node = fast.root()
        found: int | None = None
        last = len(doc_path) - 1
        for i, step in enumerate(doc_path):
            if tree.is_map(node) and isinstance(step, str):
                child = fast.child_by_key(node, step)
                if child is None:
                    return _ASK_CAREFUL if fast.has_refs(node) else _at(fast, found)
                at_value = value and i == last
                if fast.is_odd(child):
                    return _ASK_CAREFUL  # an alias: ruamel points at what it names
                offset = fast.value_offset(child) if at_value else fast.key_offset(child)
            elif tree.is_seq(node) and isinstance(step, int) and not isinstance(step, bool):
                child = fast.child_at(node, step)
                if child is None:
                    return _at(fast, found)
                if fast.is_odd(child):
                    return _ASK_CAREFUL
                offset = fast.item_offset(child)
            else:
                if fast.is_odd(node):
                    return _ASK_CAREFUL
                break
            if offset is None:
                return _ASK_CAREFUL
            found = offset
            node = child
        return _at(fast, found)

    def _careful_root(self) -> Any:
        if self._careful is None and not self._careful_failed:
            from ruamel.yaml import YAML

            try:
                yaml = YAML(typ="rt")
                yaml.allow_duplicate_keys = True
                self._careful = yaml.load(self._text)
            except Exception:
                self._careful_failed = True
        return self._careful

    def _locate_careful(self, doc_path: Sequence[Any], value: bool) -> Location | None:
        """ruamel.yaml's round-trip answer: the reference, used where rapidyaml cannot say."""
        node = self._careful_root()
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


_ASK_CAREFUL = object()


def _at(fast: _FastTree, offset: int | None) -> Location | None:
    return fast.location(offset) if offset is not None else None
