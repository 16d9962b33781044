"""Everything one config builds: the tag store, its sources, models and the OPC UA server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from drivers.base import Source
from drivers.registry import build_source
from edge_agent.config import resolve_model_file
from edge_agent.inference.pipeline import ModelPipeline
from edge_agent.opcua.server import AgentOpcUaServer
from edge_agent.quality import Quality
from edge_agent.tags import Reading, now_ns
from edge_agent.tagstore import TagStore

from .restart import keep_running

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 3.0


def application_uri(config: Any) -> str:
    """The configured ApplicationUri, else one derived from the asset id (which is often a URN itself)."""
    return config.opcua.application_uri or f"urn:edge-agent:{config.asset.id.removeprefix('urn:')}"


class AgentRuntime:
    """One generation of the running agent. A reload builds a new one and retires this one."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.store = TagStore()
        self.sources = [build_source(source_config) for source_config in config.sources]
        for source in self.sources:
            for info in source.tag_infos():
                self.store.declare(info)
                if info.writable:
                    self.store.set_writer(info.name, source.write)
        self.pipelines = []
        for model_config in config.models:
            for info in model_config.tag_infos():
                self.store.declare(info)
            try:
                model_file = resolve_model_file(model_config, config.config_dir)
            except FileNotFoundError:
                model_file = config.config_dir / model_config.file  # refused, with the reason, at load
            self.pipelines.append(ModelPipeline(model_config, model_file, self.store))
        self.server = AgentOpcUaServer(
            config.opcua,
            self.store,
            server_name=f"edge-agent {config.asset.id}",
            application_uri=application_uri(config),
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._serving = False

    async def prepare(self) -> None:
        """The slow part of starting that touches nothing shared: load and check the models."""
        for pipeline in self.pipelines:
            if pipeline.model is None and pipeline.refusal is None:
                await asyncio.to_thread(pipeline.load)

    async def start(self) -> None:
        """Serve OPC UA, then start sources and models. Returns once the endpoint is listening."""
        await self.prepare()
        try:
            await self.server.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.server.stop()  # release whatever a half-started server holds (its port)
            raise
        self._serving = True
        for source in self.sources:
            self._spawn(f"source {source.name}", lambda s=source: self._run_source(s))
        for pipeline in self.pipelines:
            self._spawn(f"model {pipeline.config.name}", pipeline.run)

    async def _run_source(self, source: Source) -> None:
        try:
            await source.run(self.store)
        finally:
            # Whatever ended it (a stop, a reload, a crash), its values are no longer kept fresh.
            stamp = now_ns()
            for info in source.tag_infos():
                self.store.publish(Reading(info.name, None, Quality.BadOutOfService, stamp))

    def _spawn(self, name: str, run: Any) -> None:
        self._tasks.append(asyncio.create_task(keep_running(name, run), name=name))

    async def stop(self) -> None:
        """Stop models, sources and the server; safe to call more than once, and after a failed start."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
            for task in pending:
                log.error("%s did not stop within %.0f s", task.get_name(), STOP_TIMEOUT_S)
        if self._serving:
            self._serving = False
            await self.server.stop()

    def status(self) -> str:
        """A line a person can read: what is served and what is wrong."""
        tags = self.store.snapshot()
        down = sum(
            1
            for source in self.sources
            if any(
                tags[info.name].quality.is_bad and tags[info.name].quality != Quality.BadWaitingForInitialData
                for info in source.tag_infos()
            )
        )
        refused = sum(1 for p in self.pipelines if p.model is None)
        models = len(self.pipelines) - refused
        line = f"serving {len(tags)} tags, {models} model{'s' * (models != 1)}, {down} sources down"
        return line + (f", {refused} models refused" if refused else "")
