"""The bottom layer every citywifi package may import: errors, shared states, settings,
logging. It imports nothing of ours, and this ``__init__`` loads only the light modules,
so ``from core import PollError`` never pulls in pydantic-settings.

The one exception tree, flat and rooted at one base::

    CitywifiError
    ├── ConfigError        a setting or URL that cannot work, said in plain words
    ├── InventoryError     an inventory file or row that cannot be imported (file:line)
    ├── DatabaseError      the inventory database is missing, behind or unreachable
    ├── StoreError         the metric store is unreachable or refused an operation
    │   └── StoreRejected  ... refused a write for its data: resending it cannot help
    ├── PollError          one device could not be polled (its ``cause`` says why)
    └── SimulatorError     the simulated city could not start (address in use, ...)

Settings (``core.settings``) and logging (``core.log``) are imported by name.
"""

from core.errors import (
    CitywifiError,
    ConfigError,
    DatabaseError,
    InventoryError,
    PollError,
    SimulatorError,
    StoreError,
    StoreRejected,
)
from core.states import ApState, PollCause, Transition

__all__ = [
    "ApState",
    "CitywifiError",
    "ConfigError",
    "DatabaseError",
    "InventoryError",
    "PollCause",
    "PollError",
    "SimulatorError",
    "StoreError",
    "StoreRejected",
    "Transition",
]
