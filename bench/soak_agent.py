"""The demo plant and agent in one process, reporting on itself for bench/soak.py.

    python -m bench.soak_agent ENDPOINT STATE_DIR PERIOD_S [--without-history]

Runs `edge-agent demo` (simulated pump and panel, both models, the shell, history) and, every PERIOD_S,
prints one JSON line: seconds since ready, RSS, open file descriptors, threads, asyncio tasks, and per
Modbus device its poll cycles and failed cycles. Stops when its stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from drivers.modbus.source import ModbusSource
from edge_agent.demo import DEMO_CONFIG
from edge_agent.demo.runner import DemoOptions, run_demo
from edge_agent.runtime.agent import AgentRuntime


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def sample(runtime: AgentRuntime, since: float) -> dict[str, Any]:
    pollers = [
        poller for source in runtime.sources if isinstance(source, ModbusSource) for poller in source.pollers
    ]
    return {
        "t": round(time.monotonic() - since, 3),
        "rss": rss_bytes(),
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": len(os.listdir("/proc/self/task")),
        "tasks": len(asyncio.all_tasks()),
        "cycles": sum(poller.cycles for poller in pollers),
        "failed_cycles": sum(poller.failures for poller in pollers),
        "poll_s": min((poller.device.poll for poller in pollers), default=0.0),
    }


async def main() -> None:
    endpoint, state_dir, period = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    config = DEMO_CONFIG
    if "--without-history" in sys.argv:
        # The demo config as it is, less its history section (the last one in the file).
        config = state_dir / "demo-without-history.yaml"
        text = DEMO_CONFIG.read_text(encoding="utf-8")
        config.write_text(text[: text.index("\nhistory:")] + "\n", encoding="utf-8")
    ready: list[AgentRuntime] = []
    serving = asyncio.Event()

    def on_ready(runtime: AgentRuntime) -> None:
        ready.append(runtime)
        serving.set()

    options = DemoOptions(
        config,
        endpoint=endpoint,
        modbus_port=0,
        aas_api_port=0,
        state_dir=state_dir,
        seed=1,
        on_ready=on_ready,
    )
    demo = asyncio.create_task(run_demo(options))
    await serving.wait()
    since = time.monotonic()

    async def report() -> None:
        while True:
            print(json.dumps(sample(ready[-1], since)), flush=True)
            await asyncio.sleep(period)

    reporter = asyncio.create_task(report())
    await asyncio.to_thread(sys.stdin.read)
    reporter.cancel()
    demo.cancel()
    for task in (reporter, demo):
        with contextlib.suppress(asyncio.CancelledError):
            await task


if __name__ == "__main__":
    asyncio.run(main())
