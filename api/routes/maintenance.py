"""Placeholder: filled by the maintenance work (issue 10)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/maintenance", tags=["maintenance"])
