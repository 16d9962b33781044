"""The sd_notify protocol: where messages go, when the watchdog is the agent's, and that it never blocks."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.runtime.systemd_notify import Notifier, SystemdService, watchdog_interval

from .notify_socket import NotifySocket, has


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # A Unix socket's path must fit in 108 bytes: pytest's tmp_path may not.
    with tempfile.TemporaryDirectory(prefix="notify-", dir="/tmp") as directory:
        yield Path(directory)


def test_messages_reach_a_socket_named_by_its_path(short_dir: Path) -> None:
    receiver = NotifySocket(short_dir / "notify")
    try:
        assert Notifier(receiver.address).send(READY=1, STATUS="serving 3 tags")
        index = receiver.wait_for(has("READY", "1"), timeout=5)
        assert receiver.received()[index] == {"READY": "1", "STATUS": "serving 3 tags"}
    finally:
        receiver.close()


def test_messages_reach_a_socket_in_the_abstract_namespace() -> None:
    receiver = NotifySocket()
    try:
        assert receiver.address.startswith("@")
        Notifier(receiver.address).send(STOPPING=1)
        receiver.wait_for(has("STOPPING", "1"), timeout=5)
    finally:
        receiver.close()


def test_a_socket_nobody_listens_on_is_reported_once_and_never_raises(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(short_dir / "gone"))
    assert not notifier.send(WATCHDOG=1)
    assert not notifier.send(WATCHDOG=1)
    assert caplog.text.count("cannot notify systemd") == 1


def test_without_notify_socket_there_is_no_service() -> None:
    assert SystemdService.from_environment({}) is None


def test_an_address_systemd_may_give_a_virtual_machine_is_declined(caplog: pytest.LogCaptureFixture) -> None:
    assert SystemdService.from_environment({"NOTIFY_SOCKET": "vsock:2:1234"}) is None
    assert "not a Unix socket path" in caplog.text


def test_the_watchdog_is_pinged_at_half_its_period() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0


def test_a_watchdog_meant_for_another_process_is_not_ours() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert watchdog_interval({}) is None
