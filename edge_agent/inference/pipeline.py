"""One model run over live windows of tags: a sink for its inputs, a source of its outputs."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import numpy as np

from edge_agent.config.inference import (
    PROBABILITY_SUFFIX,
    AlarmOutput,
    ClassifierOutput,
    ModelConfig,
    ScoreOutput,
)
from edge_agent.pacing import Ticker
from edge_agent.quality import Quality
from edge_agent.tags import Reading, now_ns
from edge_agent.tagstore import TagStore, UnknownTagError

from .model import Array, LoadedModel, ModelRefused, TensorOutput
from .worker import InferenceWorker

log = logging.getLogger(__name__)

# A model whose invocation takes less than this runs on the event loop: handing it to a thread and back
# would cost more (30-80 µs here, more on a Raspberry Pi) than running it, and the loop is held no longer
# than by a burst of tag updates. Anything slower runs in a thread of its own, off the loop.
INLINE_LIMIT_S = 100e-6
# An inline model that takes this long several cycles in a row (the machine got busy, the model is slower
# than it looked at load) moves to its thread for good; one slow cycle (a garbage collection) does not.
INLINE_GIVE_UP_S = 1e-3
INLINE_GIVE_UP_CYCLES = 3
STATISTICS_PERIOD_S = 1.0
LATENCY_HISTORY = 1000
# A failing or overrunning model says so in the log the first time and then every this many times.
LOG_EVERY = 100
GOOD = Quality.Good


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
    """Samples its input tags every ``every`` and runs the model on each full window.

    A cycle takes one row of current input values into a ring; once the ring holds a full window of good
    values the model runs on it and its outputs are published. A quick model runs on the event loop, a
    slow one in a thread of its own. A cycle that finds the previous invocation still running skips
    (and counts an overrun): work never queues up behind a slow model.
    """

    def __init__(
        self, config: ModelConfig, model_file: Path, store: TagStore, *, backend: str | None = None
    ) -> None:
        self.config = config
        self.model_file = model_file
        self.store = store
        self.backend = backend
        self.input_tags: list[str] = config.input_tags
        self.window = max(group.window for group in config.input_groups)
        # Each row is written twice, at r and r + window, so that the last `window` rows are always one
        # contiguous slice, oldest first, without copying.
        self._ring = np.zeros((2 * self.window, len(self.input_tags)), dtype=np.float32)
        self._next_row = 0
        self._window_end = 0
        self._filled = 0
        self._output_tags = [
            info.name for info in config.tag_infos() if info.name not in config.statistics_tags()
        ]
        self._statistics_tags = config.statistics_tags()
        self.model: LoadedModel | None = None
        self.refusal: str | None = None
        self.inline = True
        self._slow_inline = 0
        self.invocations = 0
        self.overruns = 0
        self.failures = 0
        self._latencies = [0.0] * LATENCY_HISTORY
        self._generation = 0
        self._busy = False
        self._cycle: tuple[float, int, int] = (0.0, 0, 0)
        self._pending: asyncio.Future[None] | None = None
        self._worker: InferenceWorker | None = None
        self._next_statistics = 0.0
        self._statistics_published: tuple[int, int] | None = None
        self._scores: list[tuple[str, TensorOutput, int, int]] = []
        self._classifiers: list[tuple[str, str, TensorOutput, int, list[str]]] = []
        self._alarms = [
            (output.name, output.from_, Alarm(output.above, output.clear_below))
            for output in config.outputs
            if isinstance(output, AlarmOutput)
        ]
        self._values: dict[str, float] = {}

    def load(self) -> None:
        """Load and check the model: slow, so call it off the loop.

        It touches nothing shared. On refusal, ``refusal`` says why, and ``run`` turns the model's tags Bad.
        """
        self._log_origins()
        try:
            self._check_input_types()
            model = LoadedModel(self.model_file, self.config, backend=self.backend)
        except ModelRefused as exc:
            self.model = None
            self.refusal = str(exc)
            log.error("model %s refused: %s", self.config.name, exc)
            return
        self._scores = [
            (output.name, model.outputs[output.output], output.output, output.index)
            for output in self.config.outputs
            if isinstance(output, ScoreOutput)
        ]
        self._classifiers = [
            (
                output.name,
                output.name + PROBABILITY_SUFFIX,
                model.outputs[output.output],
                output.output,
                output.classes,
            )
            for output in self.config.outputs
            if isinstance(output, ClassifierOutput)
        ]
        self.model, self.refusal = model, None
        self.inline = model.invoke_seconds < INLINE_LIMIT_S
        log.info(
            "model %s loaded from %s (%s, sha256 %s): one invocation takes %.0f µs; it runs %s",
            self.config.name,
            self.model_file,
            model.backend,
            model.sha256[:12],
            model.invoke_seconds * 1e6,
            "on the event loop" if self.inline else "in its own thread",
        )

    @property
    def name(self) -> str:
        return self.config.name

    def statistics(self) -> dict[str, object]:
        """What the model is and how it has run, JSON-ready."""
        count = min(self.invocations, LATENCY_HISTORY)
        latencies_ms = np.asarray(self._latencies[:count]) * 1e3
        found: dict[str, object] = {
            "file": str(self.model_file),
            "state": "refused" if self.refusal else ("loaded" if self.model else "not loaded"),
            "invocations": self.invocations,
            "overruns": self.overruns,
            "failures": self.failures,
        }
        if self.refusal:
            found["refusal"] = self.refusal
        if self.model is not None:
            found |= {"backend": self.model.backend, "sha256": self.model.sha256, "inline": self.inline}
        if count:
            found["latency_ms"] = {
                "p50": float(np.percentile(latencies_ms, 50)),
                "p99": float(np.percentile(latencies_ms, 99)),
                "mean": float(latencies_ms.mean()),
                "max": float(latencies_ms.max()),
            }
        return found

    async def run(self) -> None:
        """Sample and infer every ``every`` until cancelled. ``load`` must have run (off the loop) first."""
        if self.model is None:
            self._publish_all(Quality.BadConfigurationError, self._output_tags + self._statistics_tags)
            await asyncio.Event().wait()  # refused: stay down until the next reload
        ticker = Ticker(self.config.every)
        skipped = ticker.skipped
        self._next_statistics = 0.0
        try:
            while True:
                self._tick()
                await asyncio.sleep(ticker.advance())
                if ticker.skipped != skipped:  # the loop was late: those cycles did not happen either
                    self.overruns += ticker.skipped - skipped
                    skipped = ticker.skipped
        finally:
            self._generation += 1  # an invocation still running reports into the void
            if self._worker is not None:
                self._worker.close()
                self._worker = None
            self._publish_all(Quality.BadOutOfService, self._output_tags + self._statistics_tags)

    async def cycle(self) -> None:
        """One cycle as ``run`` does it, without the wait: returns once the outputs (if any) are published."""
        if self.model is None:
            return
        self._tick()
        if self._pending is not None:
            await self._pending

    def close(self) -> None:
        """End the model's thread, if it has one (``run`` does this when it stops)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def _tick(self) -> None:
        if self._sample():
            if self._busy:
                self._overrun()
            else:
                self._start()
        now = time.monotonic()
        if now >= self._next_statistics:
            self._publish_statistics(now)

    def _sample(self) -> bool:
        """Take one row of current input values; True when the window is full of good ones."""
        current = self.store.current
        values = []
        for tag in self.input_tags:
            reading = current(tag)
            if reading.value is None or not reading.quality.is_good:
                self._restart(tag, reading.quality)
                return False
            values.append(reading.value)
        row, window = self._next_row, self.window
        self._ring[row] = values
        self._ring[row + window] = values
        self._window_end = row + 1 + window
        self._next_row = row + 1 if row + 1 < window else 0
        if self._filled < window:
            self._filled += 1
        return self._filled == window

    def _restart(self, tag: str, quality: Quality) -> None:
        if self._filled:
            log.info("model %s: input %s is %s, window restarts", self.config.name, tag, quality.name)
        self._filled = 0
        self._generation += 1  # an invocation still running on the old window is now stale
        self._publish_all(Quality.BadWaitingForInitialData, self._output_tags)

    def _start(self) -> None:
        model = self.model
        assert model is not None
        started = time.perf_counter()
        stamp = now_ns()
        ring, end = self._ring, self._window_end
        for tensor in model.inputs:
            tensor.fill(ring[end - tensor.window : end, tensor.columns])
        if not self.inline:
            self._busy = True
            self._cycle = (started, stamp, self._generation)
            self._pending = asyncio.get_running_loop().create_future()
            if self._worker is None:
                self._worker = InferenceWorker(f"model {self.config.name}")
            self._worker.submit(model.run, self._done)
            return
        try:
            outputs = model.run()
        except Exception as exc:
            self._failed(exc)
            return
        latency = self._publish(outputs, started, stamp)
        self._slow_inline = self._slow_inline + 1 if latency > INLINE_GIVE_UP_S else 0
        if self._slow_inline >= INLINE_GIVE_UP_CYCLES:
            self.inline = False
            log.info(
                "model %s took %.1f ms on the event loop; it runs in its own thread from now on",
                self.config.name,
                latency * 1e3,
            )

    def _done(self, outputs: list[Array] | None, error: BaseException | None) -> None:
        """The worker thread's report, on the loop."""
        self._busy = False
        started, stamp, generation = self._cycle
        if generation == self._generation:
            if error is not None:
                self._failed(error)
            elif outputs is not None:
                self._publish(outputs, started, stamp)
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.set_result(None)

    def _publish(self, outputs: list[Array], started: float, stamp: int) -> float:
        """Publish the outputs of one invocation as readings; returns its latency in seconds."""
        latency = time.perf_counter() - started
        self._latencies[self.invocations % LATENCY_HISTORY] = latency
        self.invocations += 1
        publish = self.store.publish
        values = self._values
        for name, tensor, output, index in self._scores:
            raw = outputs[output].item(index)
            value = (raw - tensor.zero_point) * tensor.scale if tensor.quantised else raw
            values[name] = value
            publish(Reading(name, value, GOOD, stamp))
        for name, probability_name, tensor, output, classes in self._classifiers:
            raw = outputs[output]
            best = int(raw.argmax())
            publish(Reading(name, classes[best], GOOD, stamp))
            publish(Reading(probability_name, tensor.value(raw, best), GOOD, stamp))
        for name, score, alarm in self._alarms:
            publish(Reading(name, alarm.update(values[score]), GOOD, stamp))
        return latency

    def _overrun(self) -> None:
        self.overruns += 1
        if self.overruns == 1 or self.overruns % LOG_EVERY == 0:
            log.warning(
                "model %s is slower than its period (%g s): %d cycles skipped so far",
                self.config.name,
                self.config.every,
                self.overruns,
            )

    def _failed(self, error: BaseException) -> None:
        self.failures += 1
        if self.failures == 1 or self.failures % LOG_EVERY == 0:
            log.error(
                "model %s failed (%d times so far)",
                self.config.name,
                self.failures,
                exc_info=(type(error), error, error.__traceback__),
            )
        self._publish_all(Quality.BadInternalError, self._output_tags)

    def _publish_statistics(self, now: float) -> None:
        self._next_statistics = now + STATISTICS_PERIOD_S
        counts = (self.invocations, self.overruns)
        if counts == self._statistics_published:
            return
        self._statistics_published = counts
        invocations_tag, mean_tag, p99_tag, overruns_tag = self._statistics_tags
        stamp = now_ns()
        publish = self.store.publish
        publish(Reading(invocations_tag, self.invocations, GOOD, stamp))
        publish(Reading(overruns_tag, self.overruns, GOOD, stamp))
        count = min(self.invocations, LATENCY_HISTORY)
        if not count:
            return
        latencies_ms = np.asarray(self._latencies[:count]) * 1e3
        publish(Reading(mean_tag, float(latencies_ms.mean()), GOOD, stamp))
        publish(Reading(p99_tag, float(np.percentile(latencies_ms, 99)), GOOD, stamp))

    def _publish_all(self, quality: Quality, tags: list[str]) -> None:
        stamp = now_ns()
        for tag in tags:
            if self.store.current(tag).quality != quality:
                self.store.publish(Reading(tag, None, quality, stamp))

    def _check_input_types(self) -> None:
        for tag in self.input_tags:
            try:
                info = self.store.info(tag)
            except UnknownTagError:
                raise ModelRefused(f"input tag '{tag}' is not a tag of this agent") from None
            if info.data_type == "string":
                raise ModelRefused(f"input tag '{tag}' holds text; a model takes numbers")

    def _log_origins(self) -> None:
        config, card = self.config, self.config.card
        origins = ", ".join(f"{key} from the {origin}" for key, origin in config.origins.items())
        if card is None:
            log.info("model %s: %s (no model card beside %s)", config.name, origins, self.model_file.name)
            return
        log.info("model %s: %s (card %s)", config.name, origins, card.path)
        if config.origins.get("inputs") != "config":
            return
        card_inputs = card.content.get("inputs")
        card_groups = card_inputs if isinstance(card_inputs, list) else [card_inputs]
        card_tags = [tag for group in card_groups if isinstance(group, dict) for tag in group.get("tags", [])]
        if card_tags and card_tags != self.input_tags:
            # A plant may name its tags differently from the one the model was trained on; the order
            # must still match, which only a person can check.
            log.warning(
                "model %s: the card's inputs are %s, the config feeds %s: check that the order matches",
                config.name,
                card_tags,
                self.input_tags,
            )
