"""A query parameter that takes one value is given once: one rule for every route.

FastAPI reads ``?site=a&site=b`` for a one-value parameter as its last value and drops
the others without a word, so a client that sent both (a script joining filters, a
proxy that appended one) gets an answer to a question it did not ask. Every router
depends on :func:`one_value_each`, which refuses it as a 422 naming the parameter, as a
typed field would. Parameters that take a list (``?ap=a&ap=b``) are left alone.
"""

from __future__ import annotations

import types
from collections import Counter
from collections.abc import Sequence
from typing import Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

_SEQUENCES = (list, tuple, set, frozenset, Sequence)
# Per route (routes live as long as their app): the names of its one-value parameters.
_SCALARS: dict[int, frozenset[str]] = {}


def _takes_many(annotation: object) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_takes_many(a) for a in get_args(annotation) if a is not type(None))
    return origin in _SEQUENCES or annotation in _SEQUENCES


def _query_params(dependant: Dependant) -> list[tuple[str, object]]:
    """(name, annotation) of every query parameter of ``dependant`` and its dependencies."""
    found: list[tuple[str, object]] = [
        (p.alias, p.field_info.annotation) for p in dependant.query_params
    ]
    for sub in dependant.dependencies:
        found += _query_params(sub)
    return found


def _one_value_names(route: APIRoute) -> frozenset[str]:
    found = _SCALARS.get(id(route))
    if found is None:
        params = _query_params(route.dependant)
        found = frozenset(name for name, annotation in params if not _takes_many(annotation))
        _SCALARS[id(route)] = found
    return found


def one_value_each(request: Request) -> None:
    """Refuse a one-value query parameter given more than once (422 naming it)."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = {key: n for key, n in counts.items() if n > 1}
    if not repeated:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    names = _one_value_names(route)
    errors = [
        {
            "type": "value_error",
            "loc": ("query", key),
            "msg": f"Value error, given {n} times: it takes one value",
            "input": None,
        }
        for key, n in sorted(repeated.items())
        if key in names
    ]
    if errors:
        raise RequestValidationError(errors)
