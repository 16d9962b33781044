"""`edge-agent demo` started by a command (in the emulated root, or here), then read from this machine as an
OPC UA client and an HTTP client would: every tag Good, the pump's values changing, both models answering."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from asyncua import Client, ua

from edge_agent.agent_config import load_config
from edge_agent.demo import DEMO_CONFIG
from edge_agent.opcua import NAMESPACE_URI
from tests.support.agent_process import SERVING

AAS_API = re.compile(r"AAS API \(IDTA-01002-3-0\): (http://\S+)/shells")
PUMP_READINGS = ("motor_temperature", "vibration_rms", "discharge_pressure", "flow_rate", "motor_speed")
MODEL_COUNTERS = ("pump_health_invocations", "pump_condition_invocations")
PUMP_STATES = ("off", "normal", "cavitation", "bearing_fault")


@dataclass(frozen=True, slots=True)
class DemoRun:
    start_s: float
    """From the command's start to its "serving OPC UA" line."""
    rss_mb: float
    """The peak resident set of the process running the agent (for emulation: qemu with the agent in it)."""
    summary: str


def run_demo(
    command: list[str],
    log: Path,
    agent_process: Callable[[subprocess.Popen[str]], psutil.Process | None],
    *,
    timeout: float,
) -> DemoRun:
    """Start the demo with ``command``, check what it serves, stop it; ``agent_process`` finds the process
    that runs the agent (the one started, or one below it)."""
    started = time.monotonic()
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
        reader.start()
        try:
            url = _wait_for(SERVING, lines, process, timeout, log)
            start_s = time.monotonic() - started
            api = _wait_for(AAS_API, lines, process, 10, log)
            summary = asyncio.run(_read(url, timeout))
            shells = _get_json(f"{api}/shells")["result"]
            runner = agent_process(process)
            rss_mb = _peak_rss_mb(runner) if runner is not None else float("nan")
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"the demo exited {process.returncode} when stopped; see {log}")
    return DemoRun(start_s, rss_mb, f"{summary}; AAS API: {len(shells)} shell")


def _wait_for(
    pattern: re.Pattern[str], lines: list[str], process: subprocess.Popen[str], timeout: float, log: Path
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(lines):
            if match := pattern.search(line):
                return match.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"the demo exited {process.returncode} before serving; see {log}")
        time.sleep(0.2)
    raise RuntimeError(f"the demo printed no line like {pattern.pattern!r} within {timeout:.0f} s; see {log}")


async def _read(url: str, within: float) -> str:
    tags = [info.name for info in load_config(DEMO_CONFIG).tag_infos()]
    async with Client(url, timeout=30) as client:
        namespace = await client.get_namespace_index(NAMESPACE_URI)
        nodes = {tag: client.get_node(ua.NodeId(tag, namespace)) for tag in tags}

        async def read_all() -> dict[str, ua.DataValue]:
            values = await client.read_attributes(list(nodes.values()), ua.AttributeIds.Value)
            return dict(zip(tags, values, strict=True))

        deadline = time.monotonic() + within
        first = await read_all()
        while bad := {tag: v.StatusCode.name for tag, v in first.items() if not v.StatusCode.is_good()}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"demo tags still not Good after {within:.0f} s: {bad}")
            await asyncio.sleep(1)
            first = await read_all()
        await asyncio.sleep(5)
        second = await read_all()
    changed = [tag for tag in PUMP_READINGS if second[tag].Value.Value != first[tag].Value.Value]
    if not changed:
        raise RuntimeError(
            f"none of the pump's readings changed in 5 s: {[first[t].Value for t in PUMP_READINGS]}"
        )
    counts = {tag: (first[tag].Value.Value, second[tag].Value.Value) for tag in MODEL_COUNTERS}
    if any(after <= before for before, after in counts.values()):
        raise RuntimeError(f"a model stopped invoking: {counts}")
    score, state = second["anomaly_score"].Value.Value, second["pump_state"].Value.Value
    if not isinstance(score, float) or state not in PUMP_STATES:
        raise RuntimeError(f"the models' outputs are not what they say: score {score!r}, state {state!r}")
    invoked = ", ".join(f"{tag.removesuffix('_invocations')} {a}->{b}" for tag, (a, b) in counts.items())
    return (
        f"{len(tags)} tags Good, {len(changed)}/{len(PUMP_READINGS)} pump readings changed in 5 s, "
        f"anomaly_score {score:.3f}, pump_state {state}, invocations {invoked}"
    )


def _get_json(url: str) -> dict[str, list[object]]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        data: dict[str, list[object]] = json.load(answer)
        return data


def bare_python_rss_mb(command: list[str]) -> float:
    """The peak resident set of a Python that imports nothing more (``command`` runs the given Python code):
    what emulation adds to every process, measured the same way as the agent."""
    code = "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1])"
    output = subprocess.run([*command, code], capture_output=True, text=True, check=True).stdout
    return int(output.split()[-1]) / 1024


def _peak_rss_mb(process: psutil.Process) -> float:
    """VmHWM: the most the process has held resident (after serving and being read)."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    rss: int = process.memory_info().rss
    return rss / 2**20
