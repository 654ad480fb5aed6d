"""The citywifi HTTP API and the built-in status page; build it with :func:`create_app`."""

from __future__ import annotations

from api.app import create_app

__all__ = ["create_app"]
