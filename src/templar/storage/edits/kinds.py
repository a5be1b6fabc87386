"""The document formats an edit knows and the error it raises: shared by the edit modules."""

from __future__ import annotations

from typing import Literal

from templar.errors import TemplarError

Format = Literal["yaml", "json"]


class DocumentEditError(TemplarError):
    """A document cannot be edited as asked (it does not parse, or its shape holds no templates)."""
