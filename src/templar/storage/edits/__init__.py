"""Comment-preserving edits of single templates inside a YAML or JSON document.

A layer file may hold ten thousand templates and the comments that explain them. To
change, add or remove one template, :func:`edit_document` touches only the text of
that template and leaves every other byte as it was:

1. **Find the span.** A line scan finds where the template's entry starts and ends
   (YAML: the lines of its ``- `` item or ``id:`` key at the container's indentation;
   JSON: :meth:`json.JSONDecoder.raw_decode`, in C, from element to element). The
   entry's text alone is parsed to check that the scan found exactly that template.
2. **Re-render only that entry.** YAML: ruamel.yaml round-trips the entry's text
   (comments, quotes, flow style kept), the change is applied to the loaded nodes in
   place, and it is dumped with the indentation that reproduces the entry best. JSON:
   ``json.dumps`` with the entry's own indentation and separators.
3. **Keep every line that did not change.** The round trip may still normalise a
   line that was not edited (``~`` becomes empty, ``True`` becomes ``true``, a long
   inline list is re-spaced). So the new text is a three-way merge: the dump of the
   unchanged entry is the base, the original text is one side (formatting only), the
   dump of the changed entry the other (the edit); edited lines come from the new
   dump, all others from the original.
4. **Splice** the entry's new text into the document.

Anything the scan cannot vouch for (flow-style containers, several documents,
anchors referenced across templates, ...) goes the slow, always-right way: the
whole document through the same round trip and merge.

The three file shapes are handled alike: a list of templates, a mapping with a
``templates`` list (or mapping), and a mapping of id to body; other top-level keys
(``scheduler_type``) stay where they are. Bodies are written as given: converting
to the layer's key style (camelCase in a HostFactory file) is the caller's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from templar.storage.edits.kinds import DocumentEditError as DocumentEditError
from templar.storage.edits.kinds import Format as Format
from templar.storage.edits.scan import Scan as Scan
from templar.storage.edits.scan import ScanUnsure as ScanUnsure
from templar.storage.edits.scan import find_template as find_template
from templar.storage.edits.scan import scan_document as scan_document
from templar.storage.edits.shapes import new_document, put_entry, remove_entry


def format_of(path: Path) -> Format:
    """``json`` for a ``.json`` file, else ``yaml``."""
    return "json" if path.suffix.lower() == ".json" else "yaml"


def edit_document(
    text: str | None,
    fmt: Format,
    put: Mapping[str, Mapping[str, Any]] | None = None,
    remove: Iterable[str] = (),
    *,
    name: str = "<document>",
    scan: Scan | None = None,
) -> str:
    """The text of a document after putting and removing templates.

    ``put`` maps template ids to whole bodies: an id already in the document is
    replaced in place, a new one is appended to its templates. ``remove`` deletes ids
    (an id the document does not hold is ignored). ``text`` ``None`` is a document
    that does not exist yet; it is created as ``templates: [...]`` (YAML) or
    ``{"templates": [...]}`` (JSON). ``name`` is used in error messages. ``scan`` is
    :func:`scan_document` of ``text`` for the one template changed, when the caller
    has it (a write right after the read that made it): the edit then needs no scan.
    """
    remove = tuple(remove)
    put = put or {}
    operations = [*remove, *put]
    if scan is not None and (len(operations) != 1 or operations[0] != scan.template_id):
        scan = None  # it describes the text before the first operation only
    for template_id in remove:
        # every entry of the id goes: of an id written twice the reader keeps the first,
        # so removing only that one would bring the second back in its place
        while text is not None:
            removed = remove_entry(text, fmt, str(template_id), name, scan)
            scan = None  # it describes the text before this removal only
            if removed == text:
                break
            text = removed
    for template_id, body in put.items():
        text = put_entry(text, fmt, str(template_id), dict(body), name, scan)
    if text is None:
        text = new_document(fmt, [])
    return text


def document_text(raw: bytes, name: str = "<document>") -> tuple[str, bool, bool]:
    """A layer file's bytes as the text edits work on: ``(text, bom, crlf)``, without
    its byte-order mark and, when every line ends so, with Windows line endings made
    ``\\n`` (both put back by :func:`edit_file`). A scan of this text is what an edit
    of the same bytes can reuse."""
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DocumentEditError(f"{name}: not UTF-8, not edited", file=name) from e
    # "\r" alone is a memchr; the counts run only for a file that has one
    crlf = "\r" in text and "\r\n" in text and text.count("\r\n") == text.count("\n")
    if crlf:
        text = text.replace("\r\n", "\n")
    return text, bom, crlf


def edit_file(
    path: Path,
    expected_version: str | None,
    put: Mapping[str, Mapping[str, Any]] | None = None,
    remove: Iterable[str] = (),
    scan: Scan | None = None,
) -> str | None:
    """Put and remove templates in the file at ``path``: :func:`edit_document` on its
    text, written by :func:`templar.storage.atomic.update_file` (atomic, under the file's
    lock, refused with :class:`~templar.errors.ConcurrencyError` unless the file is
    still at ``expected_version``; ``None``: it must not exist yet). A byte-order mark
    and Windows line endings are kept. ``scan`` is a scan of the file's text made when
    it was read: used only if its :attr:`~Scan.version` is the one the write finds.
    Returns the new version."""
    from templar.storage.atomic import update_file

    fmt = format_of(path)
    remove = tuple(remove)
    if scan is not None and (scan.version is None or scan.version != expected_version):
        scan = None

    def compute(current: bytes | None) -> bytes:
        # update_file calls this only when the file is at expected_version
        if current is None:
            return edit_document(None, fmt, put, remove, name=str(path)).encode()
        if scan is not None and scan.text is not None:
            text, bom, crlf = scan.text  # the very bytes it scanned: no second decode
        else:
            text, bom, crlf = document_text(current, str(path))
        new = edit_document(text, fmt, put, remove, name=str(path), scan=scan)
        if crlf:
            new = new.replace("\n", "\r\n")
        return (b"\xef\xbb\xbf" if bom else b"") + new.encode()

    return update_file(path, expected_version, compute)
