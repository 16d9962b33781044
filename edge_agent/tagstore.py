"""The tag store: current reading of every tag, and who to tell when one changes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from .quality import Quality
from .tags import Reading, TagInfo, TagValue

log = logging.getLogger(__name__)

Listener = Callable[[Reading], None]
Writer = Callable[[str, TagValue], Awaitable[Quality]]


class UnknownTagError(KeyError):
    """A tag that no source declared."""


class TagStore:
    """Holds the latest Reading of each declared tag and notifies listeners of every new one.

    Sources publish; sinks (OPC UA, inference, history) listen. Listeners are called synchronously on
    the event loop, so they must be quick and must not block: a sink with slow work queues it.
    A client's write goes the other way: ``write`` hands it to the writer registered by the owning
    source and returns the status the device gave.
    """

    def __init__(self, tags: Iterable[TagInfo] = ()) -> None:
        self._info: dict[str, TagInfo] = {}
        self._current: dict[str, Reading] = {}
        self._listeners: list[Listener] = []
        self._writers: dict[str, Writer] = {}
        for info in tags:
            self.declare(info)

    def declare(self, info: TagInfo) -> None:
        if info.name in self._info:
            raise ValueError(f"tag {info.name!r} is declared twice")
        self._info[info.name] = info
        self._current[info.name] = Reading(info.name, None, Quality.BadWaitingForInitialData)

    @property
    def tags(self) -> list[TagInfo]:
        return list(self._info.values())

    def info(self, tag: str) -> TagInfo:
        try:
            return self._info[tag]
        except KeyError:
            raise UnknownTagError(tag) from None

    def current(self, tag: str) -> Reading:
        try:
            return self._current[tag]
        except KeyError:
            raise UnknownTagError(tag) from None

    def snapshot(self) -> dict[str, Reading]:
        return dict(self._current)

    def publish(self, reading: Reading) -> None:
        """Store a reading and tell every listener.

        A reading without a value (a Bad one from a device that went away) keeps the last known value,
        as OPC UA clients expect: the status says the value is stale, the value says what it was. The
        server timestamp is the store's moment unless the source gave one (when the value reached it).
        """
        previous = self._current.get(reading.tag)
        if previous is None:
            raise UnknownTagError(reading.tag)
        if reading.server_time_ns and reading.value is not None:
            # A source that stamped the moment the value reached the agent (a driver's poll) is stored
            # as it came: no second Reading for every reading of every poll.
            stored = reading
        else:
            value = reading.value if reading.value is not None else previous.value
            # time.time_ns() is what now_ns() returns, called directly: this runs for every reading.
            stored = Reading(reading.tag, value, reading.quality, reading.source_time_ns, time.time_ns())
        self._current[reading.tag] = stored
        for listener in self._listeners:
            try:
                listener(stored)
            except Exception:
                # One broken sink must not stop the others from seeing the value.
                log.exception("tag listener %r failed on %s", listener, reading.tag)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every new reading; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def set_writer(self, tag: str, writer: Writer) -> None:
        info = self.info(tag)
        if not info.writable:
            raise ValueError(f"tag {tag!r} is not writable")
        self._writers[tag] = writer

    async def write(self, tag: str, value: TagValue) -> Quality:
        """Send a client's write to the source that owns the tag; the result is the device's answer."""
        info = self.info(tag)
        writer = self._writers.get(tag)
        if not info.writable or writer is None:
            return Quality.BadNotWritable
        return await writer(tag, value)
