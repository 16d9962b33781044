"""The Sparkplug birth/death sequence number (bdSeq), kept across restarts.

Each MQTT session of the edge node has a bdSeq, 0 to 255 and then 0 again: the NDEATH registered as the
will at CONNECT and the NBIRTH published after it carry it, so that the primary host can tell the death
of this session from that of an earlier one. A session's value is recorded on disk before it is handed
out, so before the CONNECT that uses it: a restart, even after kill -9 or a power cut, takes the next one,
and a late will of the session before can never be taken for the death of the new one.

The file holds the last value handed out, as decimal text. One that is missing (the first start) or
cannot be read as a value (then with a warning) starts the sequence at 0.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from ..identity.layout import PRIVATE_FILE_MODE, write_atomically

log = logging.getLogger(__name__)

BDSEQ_MODULUS: Final = 256


class BdSeqStore:
    """The bdSeq of this edge node's sessions, recorded in the file ``path`` (mode 0600)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._current: int | None = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def current(self) -> int | None:
        """The value ``next`` returned last; None before it was first called."""
        return self._current

    def next(self) -> int:
        """The bdSeq for the next session, once it is on disk (written, synced, renamed into place and the
        directory synced). Raises OSError when it cannot be recorded; the call may then be repeated."""
        last = self._read() if self._current is None else self._current
        value = 0 if last is None else (last + 1) % BDSEQ_MODULUS
        self._path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self._path, f"{value}\n".encode("ascii"), PRIVATE_FILE_MODE)
        self._current = value
        return value

    def _read(self) -> int | None:
        """The value last handed out; None when there is none to go on from."""
        try:
            text = self._path.read_bytes()
        except FileNotFoundError:
            log.info("sparkplug: no bdSeq recorded in %s yet: starting at 0", self._path)
            return None
        try:
            value = int(text.decode("ascii").strip())
        except ValueError:
            value = -1
        if not 0 <= value < BDSEQ_MODULUS:
            log.warning(
                "sparkplug: the bdSeq file %s holds no bdSeq (%r): starting at 0", self._path, text[:32]
            )
            return None
        return value
