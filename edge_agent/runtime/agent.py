"""Everything one config builds: the tag store, its sources, models and the OPC UA server."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aas_core3 import types as aas

from drivers.base import Source
from drivers.registry import build_source
from edge_agent.aas import build_environment, model_info
from edge_agent.agent_config import AgentConfig, application_uri
from edge_agent.config import ConfigError, ConfigProblem, resolve_model_file
from edge_agent.history import HistoryStore
from edge_agent.identity import PkiLayout, UserFileError, UserStore
from edge_agent.opcua.server import AgentOpcUaServer
from edge_agent.quality import Quality
from edge_agent.tags import Reading, TagInfo, now_ns
from edge_agent.tagstore import TagStore

from .administration import ReloadRequest, RuntimeAdministration
from .restart import keep_running

if TYPE_CHECKING:
    from edge_agent.aas_api.server import AasApiServer
    from edge_agent.inference.pipeline import ModelPipeline
    from edge_agent.sparkplug.node import EdgeNode

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 3.0


def user_directory(path: Path | None) -> UserStore | None:
    """The users of ``opcua.users``; a ConfigError naming the file when it cannot be used: no start then."""
    if path is None:
        return None
    try:
        return UserStore.load(path)
    except UserFileError as exc:
        raise ConfigError([ConfigProblem(str(exc.path), None, None, "opcua.users", exc.problem)]) from None


class AgentRuntime:
    """One generation of the running agent. A reload builds a new one and retires this one."""

    def __init__(self, config: AgentConfig, *, reload: ReloadRequest | None = None) -> None:
        self.config = config
        self.store = TagStore()
        self.sources = [build_source(source_config) for source_config in config.sources]
        for source in self.sources:
            for info in source.tag_infos():
                self.store.declare(info)
                if info.writable:
                    self.store.set_writer(info.name, source.write)
        for model_config in config.models:
            for info in model_config.tag_infos():
                self.store.declare(info)
        self.pipelines = self._pipelines_for(config)
        self.administration = RuntimeAdministration(self, reload)
        self.history = HistoryStore(config.history) if config.history is not None else None
        users = user_directory(config.opcua.users)
        self.environment: aas.Environment | None = None
        self.server = AgentOpcUaServer(
            config.opcua,
            self.store,
            server_name=f"edge-agent {config.asset.id}",
            application_uri=application_uri(config),
            environment=self._environment,
            administration=self.administration,
            history=self.history,
            user_directory=users,
        )
        # The HTTP face and the Sparkplug node are imported only by a config that has them: aiohttp,
        # aiomqtt and protobuf cost an agent without them some 20 MB.
        self.aas_api: AasApiServer | None = None
        if config.aas_api is not None:
            from edge_agent.aas_api.live_shell import LiveShell
            from edge_agent.aas_api.server import AasApiServer

            from .status_source import RuntimeStatus

            # The same users, lockout counts and environment as the OPC UA server: one shell, two faces.
            self.aas_api = AasApiServer(
                config.aas_api,
                LiveShell(aas.Environment(), self.store),
                pki=PkiLayout(config.opcua.pki),
                users=users,
                guard=self.server.login_guard,
                opcua_endpoint=config.opcua.endpoint,
                status=RuntimeStatus(self),
            )
        self.sparkplug: EdgeNode | None = None
        if config.sparkplug is not None:
            from edge_agent.sparkplug.node import EdgeNode

            self.sparkplug = EdgeNode(
                config.sparkplug,
                self.store,
                pki=config.opcua.pki,
                # Beside the PKI store, in the agent's state directory: bdSeq must outlive restarts.
                bd_seq_path=config.opcua.pki.parent
                / f"sparkplug-{config.sparkplug.group_id}-{config.sparkplug.edge_node_id}.bdseq",
            )
        self._unlisten_history: Callable[[], None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._model_tasks: list[asyncio.Task[None]] = []
        self._serving = False

    def _environment(self, certificate_der: bytes) -> aas.Environment:
        environment = build_environment(
            self.config,
            certificate_der=certificate_der,
            model_info=model_info(self.config, self.pipelines),
            values=self.store.snapshot(),
        )
        self.environment = environment
        if self.aas_api is not None:
            self.aas_api.shell.replace(environment, self.store)
        return environment

    def _pipelines_for(self, config: AgentConfig) -> list[ModelPipeline]:
        if not config.models:
            return []
        # Imported here: numpy and the TFLite interpreter cost ~20 MB that an agent without models is spared.
        from edge_agent.inference.pipeline import ModelPipeline

        pipelines = []
        for model_config in config.models:
            try:
                model_file = resolve_model_file(model_config, config.config_dir)
            except FileNotFoundError:
                model_file = config.config_dir / model_config.file  # refused, with the reason, at load
            pipelines.append(ModelPipeline(model_config, model_file, self.store))
        return pipelines

    async def prepare(self) -> None:
        """The slow part of starting that touches nothing shared: load and check the models."""
        for pipeline in self.pipelines:
            if pipeline.model is None and pipeline.refusal is None:
                await asyncio.to_thread(pipeline.load)

    async def start(self) -> None:
        """Serve OPC UA, then start sources and models. Returns once the endpoint is listening."""
        await self.prepare()
        if self.history is not None:
            await self.history.open()
            self._unlisten_history = self.store.listen(self.history.append)
        try:
            await self.server.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.server.stop()  # release whatever a half-started server holds (its port)
            raise
        self._serving = True
        if self.aas_api is not None:
            try:
                await self.aas_api.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await self.stop()
                raise
        for source in self.sources:
            self._spawn(f"source {source.name}", functools.partial(self._run_source, source))
        self._start_models()
        if self.sparkplug is not None:
            self._spawn("sparkplug", self.sparkplug.run)

    def _start_models(self) -> None:
        for pipeline in self.pipelines:
            if pipeline.refusal is not None:
                _publish_all(
                    self.store, [o.name for o in pipeline.config.tag_infos()], Quality.BadConfigurationError
                )
            task = asyncio.create_task(keep_running(f"model {pipeline.config.name}", pipeline.run))
            self._model_tasks.append(task)

    def can_swap_models_to(self, config: AgentConfig) -> bool:
        """Whether ``config`` differs from the running one in its models only, publishing the same tags.

        Then a reload swaps the models alone: drivers keep polling and OPC UA clients stay connected.
        """

        def model_tags(c: AgentConfig) -> list[TagInfo]:
            return [info for model in c.models for info in model.tag_infos()]

        return (
            config.asset == self.config.asset
            and config.opcua == self.config.opcua
            and config.sources == self.config.sources
            and config.sparkplug == self.config.sparkplug
            and config.aas_api == self.config.aas_api
            and model_tags(config) == model_tags(self.config)
        )

    async def swap_models(self, config: AgentConfig) -> None:
        """Load the new models beside the running ones, then switch over between two cycles."""
        pipelines = self._pipelines_for(config)
        for pipeline in pipelines:
            await asyncio.to_thread(pipeline.load)
        await _cancel(self._model_tasks)
        self._model_tasks = []
        self.pipelines, self.config = pipelines, config
        self._start_models()

    async def _run_source(self, source: Source[Any]) -> None:
        try:
            await source.run(self.store)
        finally:
            # Whatever ended it (a stop, a reload, a crash), its values are no longer kept fresh.
            _publish_all(self.store, [info.name for info in source.tag_infos()], Quality.BadOutOfService)

    def _spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.create_task(keep_running(name, run), name=name))

    async def stop(self) -> None:
        """Stop models, sources and the server; safe to call more than once, and after a failed start."""
        tasks, self._tasks, self._model_tasks = self._tasks + self._model_tasks, [], []
        await _cancel(tasks)
        if self.aas_api is not None:
            await self.aas_api.stop()
        if self._serving:
            self._serving = False
            await self.server.stop()
        if self._unlisten_history is not None:
            self._unlisten_history()
            self._unlisten_history = None
        if self.history is not None:
            await self.history.close()

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
        line += f", {refused} models refused" if refused else ""
        if self.history is not None and self.history.fault is not None:
            line += f", history not recording: {self.history.fault}"
        if self.sparkplug is not None:
            facts = self.sparkplug.diagnostics()
            line += ", sparkplug " + ("online" if facts["online"] else f"offline, {facts['queued']} queued")
            line += f", {facts['evicted']} evicted" if facts["evicted"] else ""
        return line


def _publish_all(store: TagStore, tags: list[str], quality: Quality) -> None:
    stamp = now_ns()
    for tag in tags:
        store.publish(Reading(tag, None, quality, stamp))


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel and wait, cancelling again what is still running.

    A library's ``asyncio.wait_for`` (pymodbus uses it) can swallow a cancellation that lands just as its
    answer arrives (Python 3.11); asking again stops such a task at its next await.
    """
    pending = {task for task in tasks if not task.done()}
    rounds = 3
    for _ in range(rounds):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=STOP_TIMEOUT_S / rounds)
    for task in pending:
        log.error("%s did not stop within %.0f s", task.get_name(), STOP_TIMEOUT_S)
