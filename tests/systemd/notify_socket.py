"""A stand-in for systemd's end of the sd_notify protocol: a datagram socket that records what arrives."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

Message = dict[str, str]


class NotifySocket:
    """Binds an AF_UNIX datagram socket (abstract, or at ``path``) and collects every message in order."""

    def __init__(self, path: Path | None = None, on_message: Callable[[Message], None] | None = None) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path is None:
            name = f"edge-agent-test-{uuid.uuid4().hex}"
            self._socket.bind("\0" + name)
            self.address = "@" + name
        else:
            self._socket.bind(str(path))
            self.address = str(path)
        self._socket.settimeout(0.05)
        self.on_message = on_message
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            message = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            if self.on_message is not None:
                self.on_message(message)
            with self._lock:
                self.messages.append(message)

    def received(self) -> list[Message]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, condition: Callable[[Message], bool], *, after: int = 0, timeout: float = 30.0) -> int:
        """The index of the first message from ``after`` on that meets ``condition``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, message in enumerate(self.received()[after:], after):
                if condition(message):
                    return index
            time.sleep(0.02)
        raise AssertionError(f"no such message within {timeout} s; got {self.received()[after:]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


def has(key: str, value: str | None = None) -> Callable[[Message], bool]:
    """A condition: the message sets ``key`` (to ``value``, if given)."""
    return lambda message: key in message and (value is None or message[key] == value)
