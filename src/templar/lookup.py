"""One template without the full load: what ``templates show ID [--explain]``,
:meth:`templar.TemplateEngine.get_template` and :meth:`~templar.TemplateEngine.explain`
read when nothing is loaded yet.

A full load of a config of ten thousand templates parses, merges and validates all of
them to answer a question about one. Here each layer is asked for its entries of that
one id only (:meth:`~templar.storage.files.FileStorage.read_template`: a scan of the
file's text finds the entry and parses its lines alone; the file is parsed whole only
when the scan cannot vouch for what it found). The layers so read, every layer of the
storage holding only that template's entries, then go through the very assembly a full
load runs (:class:`~templar.assemble.Assembler`: discovery of the instances, the
ambiguity check between files of one layer, the hierarchy with its defaults layers,
the merge, validation and the plugins' rules). So the template's values, provenance
and issues are the full load's, computed by the same code; positions are found in the
entry's own text (:class:`~templar.positions.PositionIndex` over those lines).

Where the one-template read cannot be sure, :func:`assemble_one` returns ``None`` and
the caller loads everything, as before:

- the storage has no ``read_template`` (SQL storage) or cannot list its layers;
- no layer holds the id (the full load names the ids it may be a typo of, and whether
  it is there under another spelling);
- several provider instances hold it and none was chosen (the full load raises the
  ambiguity), or the chosen instance does not hold it;
- a file the scan cannot place is read whole (that file only; still exact).

What it does not see: a problem elsewhere in a file that holds the template (another
template's syntax error) stops the full load from reading that file, and not this read;
``templates validate`` reports it.
"""

from __future__ import annotations

from templar.assemble import Assembler
from templar.errors import TemplarError
from templar.state import EngineState
from templar.storage import StorageBackend, template_layers

#: After this many one-template reads, an engine loads everything: a caller asking for
#: template after template (an API loop over ids) is better served by one full load.
ONE_TEMPLATE_READS = 8


def assemble_one(
    storage: StorageBackend, assembler: Assembler, template_id: str, provider: str | None
) -> EngineState | None:
    """A load holding only ``template_id`` (of instance ``provider``, when given), made
    by ``assembler`` from that template's entries in every layer; ``None`` when only
    the full load can answer (see the module's docstring)."""
    if not callable(getattr(storage, "read_template", None)):  # optional in the contract
        return None  # SQL: reading every row costs what a load does, which may go stale
    try:
        layers = template_layers(storage, template_id)  # the read `templates set` makes
    except (OSError, TemplarError):
        return None
    if not any(layer.templates for layer in layers):
        return None
    state = assembler.assemble(layers)
    holding = [i.name for i in state.instances if (i.name, template_id) in state.versions]
    if provider is not None:
        return state if provider in holding else None
    return state if len(holding) == 1 else None
