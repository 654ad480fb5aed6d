"""Logging set-up shared by every citywifi process: one line per event, to stderr.

Our own loggers speak at the chosen level; libraries speak only when something is wrong.
Two kinds of third-party lines are quietened, because they drown or pre-empt ours:

- per-session chatter at INFO: paramiko logs every SSH connection and login (a third
  of a 300-AP demo's log), netmiko, pysnmp and the HTTP stack likewise, and alembic
  each step of merely checking a schema;
- retry chatter at WARNING: when the metric store is down, urllib3 and influxdb-client
  each warn about every retry *before* citywifi's own message saying the store is
  down and the batch is spooled. That message is the one to read, so those two
  loggers speak only at ERROR (or, with ``--log-level DEBUG``, at WARNING again).
"""

from __future__ import annotations

import logging

#: Libraries whose INFO lines are per-request or per-session noise. Keys are logger
#: names as the libraries spell them (children such as ``paramiko.transport`` follow).
QUIET_AT_WARNING = (
    "pysnmp",
    "asyncio",
    "asyncssh",
    "paramiko",
    "netmiko",
    "httpx",
    "httpcore",
    "urllib3",
    "influxdb_client",
    "alembic",
    "uvicorn.access",
)

#: Loggers whose warnings announce a retry the library is about to make on its own.
RETRY_CHATTER = (
    "urllib3.connectionpool",  # "Retrying (Retry(total=...)) after connection broken ..."
    "influxdb_client.client.write.retry",  # "The retriable error occurred during request"
)


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger at ``level`` and quieten the libraries (see above)."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        force=True,
    )
    numeric = logging.getLevelName(level.upper())
    chosen = numeric if isinstance(numeric, int) else logging.INFO
    for name in QUIET_AT_WARNING:
        logging.getLogger(name).setLevel(max(logging.WARNING, chosen))
    retry_level = logging.WARNING if chosen <= logging.DEBUG else logging.ERROR
    for name in RETRY_CHATTER:
        logging.getLogger(name).setLevel(max(retry_level, chosen))
