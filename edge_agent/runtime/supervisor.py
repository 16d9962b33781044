"""The supervisor: owns the running agent, stops it on SIGTERM/SIGINT, reloads it on SIGHUP."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from edge_agent.agent_config import AgentConfig, load_config
from edge_agent.audit import audit
from edge_agent.config import ConfigError
from edge_agent.pacing import Backoff

from .agent import AgentRuntime

log = logging.getLogger(__name__)

ConfigTransform = Callable[[AgentConfig], AgentConfig]
# Long enough for the answer to a ReloadConfiguration call to leave before the server may restart.
RELOAD_AFTER_ANSWER_S = 0.2


class ServiceManager(Protocol):
    """Who is told how the agent is doing (systemd, through systemd_notify.SystemdService)."""

    def ready(self, runtime: AgentRuntime) -> None:
        """The agent serves: after it started, and after every reload, whatever its outcome."""

    def reloading(self) -> None: ...

    def stopping(self) -> None: ...

    async def watch(self) -> None:
        """Runs beside the agent from before its start until it stopped (the watchdog)."""


class Supervisor:
    """Runs one AgentRuntime at a time.

    A reload is atomic from the user's point of view: the new file is validated and its runtime built
    before the old one is touched; on any failure the old config keeps (or goes back to) running.
    """

    def __init__(
        self,
        config_path: Path,
        *,
        transform: ConfigTransform | None = None,
        on_ready: Callable[[AgentRuntime], None] | None = None,
        hup_before_start: Callable[[], bool] | None = None,
        service: ServiceManager | None = None,
    ) -> None:
        self.config_path = config_path
        self.transform = transform or (lambda config: config)
        self.on_ready = on_ready
        self.hup_before_start = hup_before_start or (lambda: False)
        self.service = service
        self.runtime: AgentRuntime | None = None
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self.reloads = 0

    def load(self) -> AgentConfig:
        return self.transform(load_config(self.config_path))

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    async def check_and_reload(self) -> tuple[bool, str]:
        """For the ReloadConfiguration method: validate the file now, reload it just after answering.

        A reload may restart the OPC UA server the call came through, so it starts once the answer is out.
        """
        try:
            await asyncio.to_thread(self.load)
        except ConfigError as exc:
            log.error("reload requested over OPC UA refused, keeping the running config:\n%s", exc)
            return False, str(exc)
        asyncio.get_running_loop().call_later(RELOAD_AFTER_ANSWER_S, self.request_reload)
        return True, f"{self.config_path} is valid; reloading it"

    async def run(self, config: AgentConfig | None = None) -> None:
        """Serve until asked to stop. A bad config at start raises ConfigError."""
        config = config if config is not None else self.load()
        loop = asyncio.get_running_loop()
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        # Installed before the first start, so that a stop or reload sent while models load is queued.
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        if self.hup_before_start():
            self.request_reload()
        watch = asyncio.create_task(self.service.watch()) if self.service is not None else None
        try:
            self.runtime = AgentRuntime(config, reload=self.check_and_reload)
            await self.runtime.start()
            self._ready()
            if self.service is not None:
                self.service.ready(self.runtime)
            while not self._stop.is_set():
                stop_wait = asyncio.ensure_future(self._stop.wait())
                reload_wait = asyncio.ensure_future(self._reload.wait())
                await asyncio.wait({stop_wait, reload_wait}, return_when=asyncio.FIRST_COMPLETED)
                stop_wait.cancel()
                reload_wait.cancel()
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    await self._reload_as_service()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            if self.service is not None:
                self.service.stopping()
            if self.runtime is not None:
                log.info("stopping")
                await self.runtime.stop()
                log.info("stopped")
            if watch is not None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch

    async def _reload_as_service(self) -> None:
        if self.service is None:
            await self.reload()
            return
        self.service.reloading()
        await self.reload()
        if self.runtime is not None and not self._stop.is_set():
            self.service.ready(self.runtime)

    async def reload(self) -> bool:
        """Swap to the config file's current content; keep the old one on any error."""
        reloaded = await self._swap_to_the_file()
        audit("reload", config=self.config_path, result="Good" if reloaded else "refused")
        return reloaded

    async def _swap_to_the_file(self) -> bool:
        assert self.runtime is not None
        old = self.runtime
        log.info("reloading %s", self.config_path)
        gc.unfreeze()  # what the reload retires must be collectable, cycles included
        try:
            config = await asyncio.to_thread(self.load)
            if config == old.config:
                log.info("reloaded: the config is unchanged; %s", old.status())
                return True
            if old.can_swap_models_to(config):
                await old.swap_models(config)
                self.reloads += 1
                log.info("reloaded: models swapped, drivers and server kept; %s", old.status())
                return True
            candidate = AgentRuntime(config, reload=self.check_and_reload)
            await candidate.prepare()  # models are checked while the old runtime still serves
        except ConfigError as exc:
            log.error("reload refused, keeping the running config:\n%s", exc)
            return False
        except Exception as exc:
            log.exception("reload refused, keeping the running config: %s", exc)
            return False
        await old.stop()
        try:
            await candidate.start()
        except Exception:
            log.exception("the new config failed to start; going back to the previous one")
            await candidate.stop()
            await self._restore(old.config)
            return False
        self.runtime = candidate
        self.reloads += 1
        log.info("reloaded: %s", candidate.status())
        self._ready()
        return True

    async def _restore(self, config: AgentConfig) -> None:
        """Start the previous config again, retrying until it runs or the agent is told to stop."""
        backoff = Backoff(first=1.0, cap=30.0)
        while not self._stop.is_set():
            runtime = AgentRuntime(config, reload=self.check_and_reload)
            try:
                await runtime.start()
            except Exception:
                delay = backoff.next_delay()
                log.exception("the previous config failed to start too; trying again in %.0f s", delay)
                await runtime.stop()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):  # not wait_for: it can swallow a cancellation (3.11)
                        await self._stop.wait()
                continue
            self.runtime = runtime
            self._ready()
            return

    def _ready(self) -> None:
        _freeze_long_lived_objects()
        if self.on_ready is not None and self.runtime is not None:
            self.on_ready(self.runtime)


def _freeze_long_lived_objects() -> None:
    """Move everything alive now (asyncua's address space above all) out of the collector's sight.

    A full collection walks the whole OPC UA address space and stalls the server for 150-450 ms (measured
    with 1,000 tags), which pushed notification p99 far above the publishing interval. What exists once
    the agent serves lives as long as this config; a reload unfreezes it first.
    """
    gc.collect()
    gc.freeze()
