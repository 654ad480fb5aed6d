"""Free text people type into the API (incident notes, maintenance reasons): one rule.

PostgreSQL refuses a NUL character in text (SQLite keeps it), so a note carrying one
would be a 500 on one backend and stored on the other; it is refused up front, as a 422
naming the field, on both.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


NoNul = AfterValidator(_no_nul)
#: Free text: any characters but NUL (lengths are the caller's).
FreeText = Annotated[str, NoNul]
