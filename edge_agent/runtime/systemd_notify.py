"""Telling systemd how the agent is doing: the sd_notify protocol, and the service's side of it.

The protocol is one datagram of ``KEY=value`` lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
or ``@name`` in the abstract namespace). That is a dozen lines, so they are written here rather than taken
from a library: systemd-python compiles against libsystemd's headers (a compiler and -dev packages on a
slim gateway image, for one sendto), and the pure-Python sdnotify has had no release since 2017; either way
the service logic below would still be ours.

``SystemdService`` is what the supervisor calls as the agent's state changes: READY=1 once drivers run
and OPC UA listens, RELOADING=1 (with MONOTONIC_USEC) while a reload is under way, STOPPING=1 on the way
out, STATUS= a line a person can read, and WATCHDOG=1 while the health check passes (see health.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from .health import HealthCheck

log = logging.getLogger(__name__)

# A line of `systemctl status` is read by people: a fresh status every few seconds is plenty.
STATUS_EVERY_S = 5.0
# A watchdog task that wakes this much later than it asked to saw the event loop blocked: worth a line in
# the journal even when it recovered before systemd lost patience.
LATE_WARNING_S = 1.0


class Notifier:
    """Sends sd_notify messages to one socket; never blocks and never raises.

    A message that cannot be sent (systemd busy, socket gone) is dropped: the next status or watchdog
    ping follows soon, and the agent must not stall or fail because its service manager is slow.
    """

    def __init__(self, address: str) -> None:
        if address.startswith("@"):
            self.address: str | bytes = "\0" + address[1:]  # the abstract namespace
        elif address.startswith("/"):
            self.address = address
        else:
            # systemd also knows vsock: addresses (for virtual machines); the agent runs on hosts.
            raise ValueError(f"NOTIFY_SOCKET={address!r} is not a Unix socket path or @abstract name")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.setblocking(False)
        self._failing = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Notifier | None:
        """The notifier for $NOTIFY_SOCKET, or None when the agent was not started by systemd."""
        address = environ.get("NOTIFY_SOCKET")
        if not address:
            return None
        try:
            return cls(address)
        except ValueError as exc:
            log.warning("not telling systemd how the agent is doing: %s", exc)
            return None

    def send(self, **fields: object) -> bool:
        """Send ``KEY=value`` lines in one datagram; True if it left."""
        message = "\n".join(f"{key}={value}" for key, value in fields.items())
        try:
            self._socket.sendto(message.encode(), self.address)
        except OSError as exc:
            if not self._failing:
                log.warning("cannot notify systemd (%s): %s", self.address, exc)
            self._failing = True
            return False
        self._failing = False
        return True

    def close(self) -> None:
        self._socket.close()


def watchdog_interval(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between watchdog pings, half of WatchdogSec= as systemd recommends; None if it is off.

    $WATCHDOG_PID, when set, names the process the watchdog is meant for (not a child started with the
    same environment).
    """
    usec = environ.get("WATCHDOG_USEC")
    pid = environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        seconds = int(usec) / 1e6
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", usec)
        return None
    return seconds / 2 if seconds > 0 else None


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, the clock systemd compares a reload's MONOTONIC_USEC with."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class SystemdService:
    """The agent as a Type=notify service with a watchdog: the supervisor's lifecycle events."""

    def __init__(
        self,
        notifier: Notifier,
        *,
        watchdog_every: float | None,
        health: HealthCheck | None = None,
        status_every: float = STATUS_EVERY_S,
    ) -> None:
        self.notifier = notifier
        self.watchdog_every = watchdog_every
        self.health = health or HealthCheck()
        self.status_every = status_every
        self._runtime: Any = None
        self._status: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> SystemdService | None:
        """The service for the current process, or None when systemd does not listen."""
        notifier = Notifier.from_environment(environ)
        if notifier is None:
            return None
        return cls(notifier, watchdog_every=watchdog_interval(environ))

    def ready(self, runtime: Any) -> None:
        """The agent serves (after start, and after every reload, whatever its outcome)."""
        self._runtime = runtime
        self.health.observe(runtime)
        self._status = runtime.status()
        self.notifier.send(READY=1, STATUS=self._status)

    def reloading(self) -> None:
        self._runtime = None
        self.health.observe(None)  # sources stop and start during a reload: nothing to measure
        self._status = "reloading the configuration"
        self.notifier.send(RELOADING=1, MONOTONIC_USEC=monotonic_usec(), STATUS=self._status)

    def stopping(self) -> None:
        self._runtime = None
        self.health.observe(None)
        self.notifier.send(STOPPING=1, STATUS="stopping")

    async def watch(self) -> None:
        """Until cancelled: ping the watchdog while the agent is healthy, refresh STATUS= when it changes.

        The pings come from this task, on the event loop: a loop that is blocked sends none, however
        healthy the rest of the process looks. See health.py for what else stops them.
        """
        every = min(self.watchdog_every or self.status_every, self.status_every)
        next_status = time.monotonic() + self.status_every
        stuck: str | None = None
        while True:
            woke = time.monotonic()
            if self.watchdog_every is not None:
                problem = self._health_problem()
                if problem is None:
                    self.notifier.send(WATCHDOG=1)
                    if stuck is not None:
                        log.warning("feeding the systemd watchdog again: everything moves again")
                elif stuck is None:
                    log.error("not feeding the systemd watchdog, so systemd restarts the agent: %s", problem)
                stuck = problem
            if woke >= next_status:
                next_status = woke + self.status_every
                self._refresh_status()
            await asyncio.sleep(every)
            late = time.monotonic() - woke - every
            if late > LATE_WARNING_S:
                log.warning("the event loop was blocked for %.1f s", late)

    def _health_problem(self) -> str | None:
        try:
            return self.health.check()
        except Exception:
            # A fault of the check itself must not restart the agent again and again: the loop runs.
            log.exception("the health check failed; counting the agent as alive")
            return None

    def _refresh_status(self) -> None:
        if self._runtime is None:
            return
        try:
            status = self._runtime.status()
        except Exception:
            log.exception("cannot tell systemd the agent's status")
            return
        if status != self._status:
            self._status = status
            self.notifier.send(STATUS=status)
