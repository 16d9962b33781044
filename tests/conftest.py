"""Markers by room, so that `make test-fast` can leave out what needs other stacks or takes long.

`make test` runs everything; `make test-fast` runs what is not marked ``interop`` (another OPC UA stack,
Node.js, a real browser), ``systemd`` (the service's own tools and processes) or ``slow`` (whole agent
processes, wheels).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MARKERS = {
    "interop": "talks to an independent peer on another stack (node-opcua, asyncua's tools, Chromium)",
    "systemd": "runs systemd's tools or the agent as a service",
    "slow": "starts whole agent processes, builds packages, or runs for many seconds by design",
}
MARKED_ROOMS = {"interop": "interop", "browser": "interop", "systemd": "systemd", "e2e": "slow"}
SLOW_MODULES = {"test_packaging.py"}


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        room = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else ""
        if room in MARKED_ROOMS:
            item.add_marker(MARKED_ROOMS[room])
        if path.name in SLOW_MODULES:
            item.add_marker("slow")
