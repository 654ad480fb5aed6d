"""citywifi's one exception tree, flat and rooted at one base::

    CitywifiError
    ├── ConfigError        settings or a URL that cannot work, said in plain words
    ├── InventoryError     an inventory file or row that cannot be imported (file:line)
    ├── StoreError         the metric store is unreachable or refused an operation
    ├── PollError          one device could not be polled (timeout, bad answer)
    └── SimulatorError     the simulated city could not start (address in use, ...)

Every package raises only these, so a caller can catch ``CitywifiError`` at a boundary
(the CLI, an API handler) and turn it into one clear line.
"""

from __future__ import annotations


class CitywifiError(Exception):
    """Base of every error citywifi raises on purpose."""


class ConfigError(CitywifiError):
    pass


class InventoryError(CitywifiError):
    """Carries every problem found, each as ``file:line: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StoreError(CitywifiError):
    pass


class PollError(CitywifiError):
    pass


class SimulatorError(CitywifiError):
    pass
