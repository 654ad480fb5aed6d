"""citywifi: network management for a city's public WiFi."""

from citywifi.errors import (
    CitywifiError,
    ConfigError,
    InventoryError,
    PollError,
    SimulatorError,
    StoreError,
    StoreRejected,
)
from citywifi.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = [
    "CitywifiError",
    "ConfigError",
    "InventoryError",
    "PollError",
    "Settings",
    "SimulatorError",
    "StoreError",
    "StoreRejected",
    "load_settings",
]
