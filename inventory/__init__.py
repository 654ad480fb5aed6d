"""The inventory: sites, access points, partners, districts and credential profiles."""

from inventory.exporter import export_doc, export_yaml
from inventory.importer import ImportReport, import_file, validate_file
from inventory.queries import (
    ApStatusUpdate,
    PollTarget,
    enabled_aps,
    record_status,
    record_transitions,
)

__all__ = [
    "ApStatusUpdate",
    "ImportReport",
    "PollTarget",
    "enabled_aps",
    "export_doc",
    "export_yaml",
    "import_file",
    "record_status",
    "record_transitions",
    "validate_file",
]
