"""The config files ORB merges, read and looked into, and the located problem a file
ORB would refuse gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from templar.errors import ConfigurationError


@dataclass(frozen=True)
class OrbFile:
    """One of the config files ORB merges: its label, its path (``None`` for ORB's
    packaged defaults) and its data."""

    label: str
    path: Path | None
    data: Mapping[str, Any]


def read_config_file(path: Path) -> dict[str, Any]:
    """The mapping ``path`` holds (``{}`` when empty); a file that does not parse or
    holds anything else is a :class:`ConfigurationError` naming its line."""
    from templar.reader import read_config_mapping

    return read_config_mapping(path, "an ORB config") or {}


def section(file: OrbFile, *path: str) -> Any:
    """What ``file`` holds at ``path`` (keys below the top), or ``None`` if nothing."""
    data: Any = file.data
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def mapping_at(file: OrbFile, *path: str) -> Mapping[str, Any] | None:
    """The mapping at ``path`` of ``file``; anything else there is an error, as in ORB."""
    value = section(file, *path)
    if value is None or isinstance(value, Mapping):
        return value
    raise OrbConfigProblem(file, path, f"must be a mapping, not {kind_of(value)}")


class OrbConfigProblem(ConfigurationError):
    """A config file ORB would refuse, located (raised by :func:`templar.orb.load_orb_config`)."""

    def __init__(self, file: OrbFile, doc_path: Sequence[Any], reason: str) -> None:
        if file.path is None:
            super().__init__(f"ORB packaged defaults: {reason}")
            return
        line, column = _position(file.path, tuple(doc_path))
        where = f"{file.path}:{line}:{column}" if line else str(file.path)
        dotted = ".".join(str(p) for p in doc_path)
        super().__init__(
            f"{where}: {dotted}: {reason}",
            file=str(file.path),
            line=line,
            column=column,
            field=dotted,
        )


def kind_of(value: Any) -> str:
    """How a problem names what was found instead (``a list``, ``null``)."""
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _position(path: Path, doc_path: tuple[Any, ...]) -> tuple[int | None, int | None]:
    from templar.positions import PositionIndex

    index = PositionIndex.build(path)
    position = index.locate(doc_path) if index else None
    return position if position else (None, None)
