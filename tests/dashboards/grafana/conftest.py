"""The live query tests' fixtures (defined in history.py, next to their data classes)."""

from tests.dashboards.grafana.history import city_history, influx_history, vm_history

__all__ = ["city_history", "influx_history", "vm_history"]
