"""The log lines about one device's wrong answers: few enough to read, however long it misbehaves."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# A device that answers wrongly on every poll would fill the log; its tags carry the status anyway.
LOG_EVERY = 100


class Complaints:
    """Logs the first wrong answer of a device, then every ``LOG_EVERY``-th, then its recovery once."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0

    def wrong_answer(self, what: str, reason: str) -> None:
        self.count += 1
        if self.count == 1 or self.count % LOG_EVERY == 0:
            log.warning(
                "%s: wrong answer to %s (%d so far), its points are Bad: %s",
                self.label,
                what,
                self.count,
                reason,
            )

    def all_right(self) -> None:
        """The device answered a whole poll cycle properly."""
        if self.count:
            log.info("%s answers properly again (after %d wrong answers)", self.label, self.count)
            self.count = 0
