"""Where log lines go and what they look like: for a person, for the journal, or as JSON.

- human: ``2024-05-01 12:00:00,123 INFO edge_agent: message`` (a terminal, a file).
- journal: ``<6>edge_agent: message``, chosen by itself when stderr is connected to the journal. The
  journal adds its own timestamp and reads the syslog priority from the ``<N>`` prefix, so that
  ``journalctl -p warning`` works; every line of a multi-line message (a traceback) carries it.
- json: one object per line, ``{"time", "level", "logger", "message", "exc"}``, for log shippers.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TextIO

LOG_FORMATS = ("human", "json")
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# syslog(3) priorities
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
DEBUG_PRIORITY = 7


def syslog_priority(level: int) -> int:
    """The syslog priority of a logging level (ERROR is 3, INFO is 6, ...)."""
    return next((priority for floor, priority in _PRIORITIES if level >= floor), DEBUG_PRIORITY)


def with_priority(text: str, priority: int) -> str:
    """``text`` with ``<priority>`` before each of its lines, as the journal reads them."""
    return "\n".join(f"<{priority}>{line}" for line in text.split("\n"))


def stderr_is_journal(environ: Mapping[str, str] = os.environ, stream: TextIO | None = None) -> bool:
    """Whether standard error is connected to the journal.

    systemd sets $JOURNAL_STREAM to the device and inode of the journal stream it connected; a process
    whose stderr was redirected since (or a child of such a service) sees other numbers, and then its
    output is not the journal's (see systemd.exec(5), "Environment variables in spawned processes").
    """
    expected = environ.get("JOURNAL_STREAM", "")
    device, _, inode = expected.partition(":")
    if not device.isdigit() or not inode.isdigit():
        return False
    try:
        found = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (found.st_dev, found.st_ino) == (int(device), int(inode))


class JournalFormatter(logging.Formatter):
    """``<priority>logger: message``, no timestamp (the journal keeps its own)."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return with_priority(super().format(record), syslog_priority(record.levelno))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        exc = None
        if record.exc_info:
            exc = self.formatException(record.exc_info)
        elif record.exc_text:
            exc = record.exc_text
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "exc": exc,
        }
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(level: str, log_format: str | None = None, *, stream: TextIO | None = None) -> str:
    """Log to stderr at ``level``; returns the format chosen: human, json or journal.

    ``log_format`` None picks journal when stderr is the journal, else human.
    """
    stream = stream or sys.stderr
    chosen = log_format or ("journal" if stderr_is_journal(stream=stream) else "human")
    formatters: dict[str, Callable[[], logging.Formatter]] = {
        "human": lambda: logging.Formatter(HUMAN_FORMAT),
        "json": JsonFormatter,
        "journal": JournalFormatter,
    }
    formatter = formatters[chosen]()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler])
    # asyncua and pymodbus narrate every request at INFO; asyncua's warnings still show, pymodbus' lines
    # are kept out by the Modbus driver, which logs its own one-line reasons (drivers/modbus/pymodbus_log.py).
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    return chosen


def print_error(text: str, log_format: str) -> None:
    """An error for the user on stderr (a config problem): plain for a person, else as a logged error."""
    if log_format == "human":
        print(text, file=sys.stderr)
    else:
        logging.getLogger("edge_agent").error("%s", text)
