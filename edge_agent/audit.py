"""The audit trail: one structured log record per login, write, method call, certificate refusal, reload.

Records go to the ``edge_agent.audit`` logger at INFO as ``<event> key=value ...`` lines, with the same
fields in the record's ``audit`` attribute for a JSON log format to carry. The time is the record's.
"""

from __future__ import annotations

import logging

_log = logging.getLogger("edge_agent.audit")


def audit(event: str, **fields: object) -> None:
    """Record ``event`` (login, write, call, certificate, reload) with who, peer, what and result."""
    text = " ".join(f"{key}={_quoted(value)}" for key, value in fields.items())
    _log.info("%s %s", event, text, extra={"audit": {"event": event, **fields}})


def _quoted(value: object) -> str:
    text = str(value)
    return repr(text) if not text or any(char.isspace() or char in "='\"" for char in text) else text
