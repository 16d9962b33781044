"""pymodbus' own log lines stay out of the agent's log unless pymodbus is asked for debug output.

pymodbus logs each frame it cannot use at ERROR and appends a hex dump of the last 20 frames of every
connection in the process (healthy devices' too), one line each, on every poll of a misbehaving device.
The driver logs the reason itself instead, in one line, rate-limited per device.
"""

from __future__ import annotations

import logging

from pymodbus.logging import Log


def pymodbus_debugging() -> bool:
    """Whether pymodbus' debug lines are wanted (its logger enabled for DEBUG)."""
    return Log._logger.isEnabledFor(logging.DEBUG)


class _OnlyWhenDebugging(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # At DEBUG pymodbus leaves out the frame dumps and whoever asked for it wants every line.
        return pymodbus_debugging()


def quiet_pymodbus() -> None:
    """Keep pymodbus' lines out of the log (idempotent)."""
    logger = Log._logger
    if not any(isinstance(existing, _OnlyWhenDebugging) for existing in logger.filters):
        logger.addFilter(_OnlyWhenDebugging())
