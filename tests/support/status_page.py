"""The status page over a real tag store and users file, for the page's tests and the browser's."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge_agent.history import HistoryStore
from edge_agent.identity.users import Role, ScryptCost, UserFile, UserStore
from edge_agent.quality import Quality
from edge_agent.status_page import IdentitySummary
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore

HOSTILE = '<script>alert("x")</script>'
PASSWORD = "correct horse"
USERS = {"Operator": "alice", "Observer": "olga"}


def basic(role: str) -> dict[str, str]:
    token = base64.b64encode(f"{USERS[role]}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def users_file(directory: Path) -> UserStore:
    """alice, an Operator, and olga, an Observer, both with PASSWORD (hashed cheaply: tests only)."""
    cheap = ScryptCost(ln=4, r=8, p=1)
    file = UserFile(directory / "users.json")
    file.add(USERS["Operator"], Role.OPERATOR, PASSWORD, cost=cheap)
    file.add(USERS["Observer"], Role.OBSERVER, PASSWORD, cost=cheap)
    file.write()
    return UserStore.load(directory / "users.json", cost=cheap)


class StoreStatus:
    """A status source over a real tag store, with the diagnostics a runtime of two sources would give."""

    def __init__(self) -> None:
        self.store = TagStore(
            [
                TagInfo("motor_temperature", "pump_plc", "float", unit="degC"),
                TagInfo("alarm_lamp", "panel", "bool", writable=True, description=HOSTILE),
                TagInfo("anomaly_score", "pump_health", "float"),
                TagInfo("pump_health_invocations", "pump_health", "int"),
            ]
        )
        self.store.publish(Reading("motor_temperature", 61.234567, Quality.Good, 1_765_000_000_000_000_000))
        self.store.publish(Reading("alarm_lamp", None, Quality.BadNoCommunication))
        self.listeners = 0
        self.recorded: HistoryStore | None = None

    def diagnostics(self) -> dict[str, Any]:
        return {
            "versions": {"edge-agent": "9.9.9"},
            "uptime_s": 3723.0,
            "status": "serving 4 tags, 1 model, 1 sources down",
            "sources": [
                {
                    "name": "pump_plc",
                    "driver": "modbus",
                    "tags": 1,
                    "qualities": {"Good": 1},
                    "devices": [
                        {
                            "cycles": 40,
                            "failed_cycles": 2,
                            "poll_s": 0.5,
                            "last_good_ns": 1_765_000_000_000_000_000,
                        }
                    ],
                },
                {"name": "panel", "driver": "gpio", "tags": 1, "qualities": {"BadNoCommunication": 1}},
            ],
            "models": [
                {
                    "name": "pump_health",
                    "state": "loaded",
                    "invocations": 12,
                    "overruns": 1,
                    "failures": 0,
                    "latency_ms": {"p50": 0.2, "p99": 0.75, "mean": 0.3, "max": 1.0},
                }
            ],
        }

    def tags(self) -> Sequence[TagInfo]:
        return self.store.tags

    def readings(self) -> Mapping[str, Reading]:
        return self.store.snapshot()

    def identity(self) -> IdentitySummary | None:
        return IdentitySummary("CN=edge-agent@test", datetime.now(UTC) + timedelta(days=20, hours=1), 2, 1, 0)

    def model_outputs(self) -> Mapping[str, Sequence[str]]:
        return {"pump_health": ["anomaly_score"]}

    def status(self) -> str:
        return "serving 4 tags, 1 model, 1 sources down"

    async def history(self, tag: str, start_ns: int, end_ns: int) -> Sequence[Reading] | None:
        if self.recorded is None or tag != "anomaly_score":
            return None
        return await self.recorded.read(tag, start_ns=start_ns, end_ns=end_ns)

    def threshold(self, tag: str) -> float | None:
        return 0.8 if tag == "anomaly_score" else None

    def listen(self, listener: Callable[[Reading], None]) -> Callable[[], None]:
        self.listeners += 1
        unlisten = self.store.listen(listener)

        def stop() -> None:
            self.listeners -= 1
            unlisten()

        return stop
