"""Whether the agent is alive enough to feed the systemd watchdog.

What stops the pings, and what does not:

- A blocked event loop (a blocking call that hangs, a runaway computation, a deadlock with a thread).
  The pings are sent by a task on the loop (systemd_notify.SystemdService.watch), so a loop that runs
  nothing sends nothing: that task is the loop's heartbeat, and it cannot beat while the loop stands.
- A wedged poller: a running loop is not enough, as a poller task can hang on an await that never ends
  (a future a library lost) and its tags would keep their last good value for ever, silently. So each
  polled device's cycle counter must move. A cycle counts whether or not the device answered: a device
  that is switched off or unplugged is retried with backoff and keeps counting. That is normal operation;
  the agent is alive and a restart would not help, so it never stops the pings. Only a counter that stands
  still for several times the longest a cycle can take (the longest pause between attempts, then every
  request of every device on the shared connection timing out), and at least a minute, does.
- A wedged model: a model counts invocations and failures. One whose inference thread hangs keeps
  skipping cycles (overruns) and finishes none. A model waiting for good inputs does neither, and is fine.
- Not probed: GPIO points (interrupt-driven, they have no cycle to count) and anything during a reload
  (sources stop and start; the loop check goes on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drivers.modbus.config import ModbusDevice

# A stall shorter than this is never a reason to restart: a machine under load, a long garbage
# collection or a burst of reconnects can hold things up for seconds.
STALL_MIN_S = 60.0
# How many times its longest possible cycle a device or model may go without progress.
STALL_CYCLES = 5
# The longest pause between two attempts at a device that is down: the Modbus poller's backoff cap
# (drivers.modbus.device.MAX_BACKOFF_S, 5 s) with its jitter (+20 %). A test holds the two together.
RETRY_PAUSE_MAX_S = 6.0


@dataclass
class ProgressProbe:
    """One piece of work that must keep moving: a counter of what it finished.

    ``demand`` counts work that arrived while it was still busy (a model's overruns, one every
    ``demand_period`` seconds while it is stuck); a piece with no ``demand`` is expected to progress all
    the time (a poller polls whether or not its device answers). A piece with a ``demand`` that has seen
    none for two periods is idle, not stuck: its clock starts again.
    """

    name: str
    what: str
    progress: Callable[[], int]
    stall_after: float
    demand: Callable[[], int] | None = None
    demand_period: float = 0.0
    _progress: int = field(init=False, default=0)
    _demand: int = field(init=False, default=0)
    _since: float = field(init=False, default=0.0)
    _demanded_at: float = field(init=False, default=0.0)

    def start(self, now: float) -> None:
        self._progress = self.progress()
        self._demand = self.demand() if self.demand is not None else 0
        self._since = self._demanded_at = now

    def stalled_for(self, now: float) -> float | None:
        """Seconds without progress while there was work, if that is longer than allowed; else None."""
        if self.progress() != self._progress:
            self.start(now)
            return None
        if self.demand is not None:
            demand = self.demand()
            if demand != self._demand:
                self._demand, self._demanded_at = demand, now
            elif now - self._demanded_at > 2 * self.demand_period:
                self._since = now  # nothing asked of it lately: idle
        waited = now - self._since
        return waited if waited > self.stall_after else None


class HealthCheck:
    """Probes the running agent's sources and models; ``check`` says what is stuck, if anything."""

    def __init__(
        self,
        *,
        stall_min_s: float = STALL_MIN_S,
        stall_cycles: float = STALL_CYCLES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stall_min_s = stall_min_s
        self.stall_cycles = stall_cycles
        self.clock = clock
        self.probes: list[ProgressProbe] = []

    def observe(self, runtime: Any | None) -> None:
        """Probe this runtime from now on (None: nothing, while the agent reloads or stops)."""
        self.probes = [] if runtime is None else self._probes_of(runtime)
        now = self.clock()
        for probe in self.probes:
            probe.start(now)

    def check(self) -> str | None:
        """None while everything moves; else what is stuck, in words."""
        now = self.clock()
        for probe in self.probes:
            stalled = probe.stalled_for(now)
            if stalled is not None:
                return f"{probe.name} has finished no {probe.what} for {stalled:.1f} s"
        return None

    def _probes_of(self, runtime: Any) -> list[ProgressProbe]:
        probes = [probe for source in runtime.sources for probe in self._source_probes(source)]
        probes += [self._model_probe(model) for model in runtime.pipelines if model.model is not None]
        return probes

    def _source_probes(self, source: Any) -> list[ProgressProbe]:
        """A probe per polled device of a source that counts device cycles (Modbus does)."""
        counted = source.statistics().get("devices")
        resolve = getattr(source.config, "devices_resolved", None)
        if not counted or resolve is None or not all("cycles" in device for device in counted):
            return []
        devices = resolve()
        # The devices of a source share one connection, one transaction at a time: in the worst case a
        # device waits for every request of every device to time out, each retried.
        link_s: float = sum(
            stats["requests_per_cycle"] * (device.retries + 1) * device.timeout
            for device, stats in zip(devices, counted, strict=True)
        )

        def cycle_s(device: ModbusDevice) -> float:
            return max(device.poll, RETRY_PAUSE_MAX_S) + link_s

        def cycles(index: int) -> Callable[[], int]:
            return lambda: int(source.statistics()["devices"][index]["cycles"])

        return [
            ProgressProbe(
                name=f"source {source.name} unit {device.unit}",
                what="poll cycle",
                progress=cycles(index),
                stall_after=max(self.stall_min_s, self.stall_cycles * cycle_s(device)),
            )
            for index, device in enumerate(devices)
        ]

    def _model_probe(self, pipeline: Any) -> ProgressProbe:
        cycle_s = max(pipeline.config.every, pipeline.model.invoke_seconds)
        return ProgressProbe(
            name=f"model {pipeline.config.name}",
            what="invocation",
            progress=lambda: pipeline.invocations + pipeline.failures,
            demand=lambda: pipeline.overruns,
            demand_period=pipeline.config.every,
            stall_after=max(self.stall_min_s, self.stall_cycles * cycle_s),
        )
