"""citywifi: network management for a city's public WiFi.

This package is the top layer: the ``citywifi`` command and the wiring of its processes
(demo, simulate, history). Nothing below imports it; the shared bottom (errors, settings,
logging, AP states) is :mod:`core`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("citywifi")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
