"""Free text people type into the API (incident notes, maintenance reasons), and every
query and path parameter: one rule.

PostgreSQL refuses a NUL character in text (SQLite keeps it), so a note carrying one
would be a 500 on one backend and stored on the other; it is refused up front, as a 422
naming the field, on both. The same holds for an id in the URL (``?district=%00``, an AP
id in the path): compared with a column, PostgreSQL refuses the statement, so
:func:`no_nul_in_url`, a dependency of every router, refuses it first. (Not stated as
a pattern in the schema: schemathesis then judges requests by it wrongly, a
"schema-violating request accepted" for values without NUL.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

NUL_MESSAGE = "must not contain a NUL character"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


NoNul = AfterValidator(_no_nul)
#: Free text: any characters but NUL (lengths are the caller's).
FreeText = Annotated[str, NoNul]


def storable(value: str) -> str:
    """``value`` with every NUL replaced by U+FFFD, for text recorded as it was given
    rather than refused: a failed login's name (a 422 would tell a guesser which names are
    well-formed; a name holding NUL cannot exist, so the login fails, audited)."""
    return value.replace("\x00", "\ufffd")


def no_nul_in_url(request: Request) -> None:
    """Refuse a query or path parameter holding NUL: a 422 naming it, as a typed field."""
    found = [("query", key, value) for key, value in request.query_params.multi_items()]
    found += [("path", key, value) for key, value in request.path_params.items()]
    errors = [
        {
            "type": "value_error",
            "loc": (where, key),
            "msg": f"Value error, {NUL_MESSAGE}",
            "input": value,
        }
        for where, key, value in found
        if isinstance(value, str) and "\x00" in value
    ]
    if errors:
        raise RequestValidationError(errors)
