"""The simulated city: APs that speak real SNMP v2c over UDP, each on its own loopback address.

Public entry points: :func:`build_city` makes a city from a seed, :func:`run_simulator`
serves it, :func:`write_inventory` writes the matching inventory file.
"""

from simulators.city import City, build_city
from simulators.run import run_simulator, write_inventory

__all__ = ["City", "build_city", "run_simulator", "write_inventory"]
