"""One model run over live windows of tags: a sink for its inputs, a source of its outputs."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_agent.pacing import Ticker
from edge_agent.quality import Quality
from edge_agent.tags import Reading, now_ns
from edge_agent.tagstore import TagStore

from .model import LoadedModel, ModelRefused, Normalisation

log = logging.getLogger(__name__)


def _is_alarm(output: Any) -> bool:
    return getattr(output, "from_", None) is not None


class Alarm:
    """A boolean from a score with hysteresis: on above ``above``, off again below ``clear_below``."""

    def __init__(self, above: float, clear_below: float | None) -> None:
        self.above = above
        self.clear_below = above if clear_below is None else clear_below
        self.active = False

    def update(self, score: float) -> bool:
        if self.active:
            self.active = score >= self.clear_below
        else:
            self.active = score > self.above
        return self.active


class ModelPipeline:
    """Samples its input tags every ``every`` into a ring of ``window`` rows and invokes the model.

    Inference runs in a worker thread so the event loop keeps serving. A model slower than its period
    does not pile up work: the cycle that finds the previous invocation still running is skipped and
    counted as an overrun.
    """

    def __init__(self, config: Any, model_file: Path, store: TagStore) -> None:
        self.config = config
        self.model_file = model_file
        self.store = store
        self.input_tags: list[str] = list(config.inputs.tags)
        self.window = int(config.inputs.window)
        self._ring = np.zeros((self.window, len(self.input_tags)), dtype=np.float32)
        self._filled = 0
        self._next_row = 0
        self._scores = {o.name: o.index for o in config.outputs if not _is_alarm(o)}
        self._alarms = {
            o.name: (o.from_, Alarm(o.above, o.clear_below)) for o in config.outputs if _is_alarm(o)
        }
        self.model: LoadedModel | None = None
        self.refusal: str | None = None
        self.invocations = 0
        self.overruns = 0
        self.latencies_s: list[float] = []
        self._generation = 0

    def load(self) -> None:
        """Load and check the model; on refusal the outputs go Bad with the reason logged."""
        normalise = None
        if self.config.normalize is not None:
            normalise = Normalisation(
                np.asarray(self.config.normalize.mean, dtype=np.float32),
                np.asarray(self.config.normalize.std, dtype=np.float32),
            )
        try:
            self.model = LoadedModel(
                self.model_file,
                n_features=len(self.input_tags),
                window=self.window,
                expected_sha256=self.config.sha256,
                normalise=normalise,
                num_threads=self.config.num_threads,
                input_tags=self.input_tags,
            )
            needed = max(self._scores.values(), default=0)
            if needed >= self.model.output_size:
                raise ModelRefused(
                    f"{self.model_file.name}: output index {needed} asked for, the model has "
                    f"{self.model.output_size} output values"
                )
        except ModelRefused as exc:
            self.model = None
            self.refusal = str(exc)
            log.error("model %s refused: %s", self.config.name, exc)
            self._publish_all(Quality.BadConfigurationError)
            return
        log.info(
            "model %s loaded from %s (%s, sha256 %s)",
            self.config.name,
            self.model_file,
            self.model.backend,
            self.model.sha256[:12],
        )

    async def run(self) -> None:
        """Sample and infer every ``every`` until cancelled. ``load`` must have run (off the loop) first."""
        if self.model is None:
            await asyncio.Event().wait()  # refused: its outputs are Bad; stay down until the next reload
        ticker = Ticker(self.config.every)
        running: asyncio.Task[None] | None = None
        try:
            while True:
                if self._sample():
                    if running is not None and not running.done():
                        self._overrun()
                    else:
                        running = asyncio.create_task(self._infer(self._window_copy(), self._generation))
                await asyncio.sleep(ticker.advance())
        finally:
            if running is not None:
                running.cancel()
            self._publish_all(Quality.BadOutOfService)

    def _overrun(self) -> None:
        self.overruns += 1
        if self.overruns == 1 or self.overruns % 100 == 0:
            log.warning(
                "model %s is slower than its period (%g s): %d cycles skipped so far",
                self.config.name,
                self.config.every,
                self.overruns,
            )

    def _sample(self) -> bool:
        """Take one row of current input values; True when the window is full and good."""
        row = self._ring[self._next_row]
        for column, tag in enumerate(self.input_tags):
            reading = self.store.current(tag)
            if not reading.quality.is_good or reading.value is None:
                if self._filled:
                    log.info(
                        "model %s: input %s is %s, window restarts",
                        self.config.name,
                        tag,
                        reading.quality.name,
                    )
                self._filled = 0
                self._generation += 1  # an inference still running on the old window is now stale
                self._publish_all(Quality.BadWaitingForInitialData)
                return False
            row[column] = float(reading.value)
        self._next_row = (self._next_row + 1) % self.window
        self._filled = min(self.window, self._filled + 1)
        return self._filled == self.window

    def _window_copy(self) -> np.ndarray:
        # Oldest row first, as the model was trained.
        return np.roll(self._ring, -self._next_row, axis=0)

    async def _infer(self, window: np.ndarray, generation: int) -> None:
        assert self.model is not None
        started = time.perf_counter()
        source_time = now_ns()
        try:
            values = await asyncio.to_thread(self.model.invoke, window)
        except Exception:
            log.exception("model %s failed", self.config.name)
            self._publish_all(Quality.BadInternalError)
            return
        if generation != self._generation:
            return  # its inputs went bad while it ran; the outputs already say so
        self.latencies_s.append(time.perf_counter() - started)
        del self.latencies_s[:-1000]
        self.invocations += 1
        scores = {name: float(values[index]) for name, index in self._scores.items()}
        for name, score in scores.items():
            self.store.publish(Reading(name, score, Quality.Good, source_time))
        for name, (score_name, alarm) in self._alarms.items():
            self.store.publish(Reading(name, alarm.update(scores[score_name]), Quality.Good, source_time))

    def _publish_all(self, quality: Quality) -> None:
        stamp = now_ns()
        for output in self.config.outputs:
            if self.store.current(output.name).quality != quality:
                self.store.publish(Reading(output.name, None, quality, stamp))
