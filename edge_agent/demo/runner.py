"""`edge-agent demo`: the agent, a simulated pump on Modbus TCP and a simulated panel, in one process."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from drivers.gpio.config import GpioCounter, GpioInput, GpioSourceConfig
from edge_agent.aas.ids import SubmodelIds
from edge_agent.agent_config import AgentConfig, load_config
from edge_agent.config import ConfigError, ConfigProblem, OpcUaConfig
from edge_agent.runtime.agent import AgentRuntime
from edge_agent.runtime.supervisor import Supervisor
from edge_agent.simulator.modbus_device import SimulatedPumpDevice

from .broker import EDGE_NODE_ID, GROUP_ID, DemoBroker, start_demo_broker
from .panel import SimulatedPanel

log = logging.getLogger(__name__)

PUMP_SOURCE = "pump_plc"
PANEL_SOURCE = "panel"
FAULT_REGISTER = 10


@dataclass(frozen=True)
class DemoOptions:
    config_path: Path
    endpoint: str | None = None
    modbus_port: int | None = None
    aas_api_port: int | None = None
    """The HTTP API's port instead of the config's; 0: any free port."""
    state_dir: Path | None = None
    bearing_fault: bool = False
    seed: int | None = None
    on_ready: Callable[[AgentRuntime], None] | None = None
    """Called with each runtime once it serves (after the banner), e.g. by a bench watching it."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "edge-agent" / "demo"


def _with_overrides(
    config: AgentConfig, *, endpoint: str | None, pki: Path, pump_port: int, aas_api_port: int | None = None
) -> AgentConfig:
    """The demo config with the command line's endpoint, state directory, pump and HTTP API ports.

    The new OPC UA settings are validated like the file's (an insecure demo may not be moved off
    loopback by ``--endpoint``); a refusal is a config error naming the option.
    """
    opcua_data = config.opcua.model_dump(by_alias=True) | {"pki": pki}
    if endpoint:
        opcua_data["endpoint"] = endpoint
    try:
        opcua = OpcUaConfig.model_validate(opcua_data)
    except ValidationError as exc:
        raise ConfigError(
            ConfigProblem("--endpoint", None, None, ".".join(("opcua", *map(str, e["loc"]))), e["msg"])
            for e in exc.errors()
        ) from None
    sources = [
        source.model_copy(update={"port": pump_port}) if source.name == PUMP_SOURCE else source
        for source in config.sources
    ]
    update: dict[str, Any] = {"opcua": opcua, "sources": sources}
    if config.history is not None:
        update["history"] = config.history.model_copy(update={"database": pki.parent / "history.sqlite"})
    if config.aas_api is not None and aas_api_port is not None:
        scheme, host = config.aas_api.scheme, config.aas_api.host
        update["aas_api"] = config.aas_api.model_copy(update={"listen": f"{scheme}://{host}:{aas_api_port}"})
    return config.model_copy(update=update)


def _shell_path(runtime: AgentRuntime) -> str:
    """The browse path element of the shell under Objects, like 4:pump_17."""
    shell = runtime.server.shell
    if shell is None or not shell.shells:
        return "2:EdgeAgent"
    nodeid = shell.shells[0]
    return f"{nodeid.NamespaceIndex}:{nodeid.Identifier}"


def _with_broker(config: AgentConfig, broker: DemoBroker | None) -> AgentConfig:
    """The config with the demo broker's `sparkplug:` section, unless the file has one of its own."""
    if broker is None or config.sparkplug is not None:
        return config
    return config.model_copy(update={"sparkplug": broker.sparkplug_config()})


def _sparkplug_lines(runtime: AgentRuntime, broker: DemoBroker | None) -> list[str]:
    sparkplug = runtime.config.sparkplug
    if broker is not None and sparkplug is not None and broker.url in sparkplug.brokers:
        return [
            f"  Sparkplug B: edge node {GROUP_ID}/{EDGE_NODE_ID} on the demo's mosquitto at {broker.url} "
            "(plaintext, loopback only)",
            f"  watch it:   .venv/bin/edge-agent sparkplug watch {broker.url}",
        ]
    if sparkplug is not None:
        return [
            f"  Sparkplug B: edge node {sparkplug.group_id}/{sparkplug.edge_node_id} on the config's brokers"
        ]
    if broker is None:
        return ["  Sparkplug B: off, mosquitto is not installed (`make mosquitto-tools` installs it)"]
    return []


def _aas_api_lines(runtime: AgentRuntime) -> list[str]:
    api = runtime.config.aas_api
    if api is None:
        return []
    operational = SubmodelIds(runtime.config.asset.id).operational_data
    submodel = base64.urlsafe_b64encode(operational.encode()).decode().rstrip("=")
    return [
        f"  AAS API (IDTA-01002-3-0): {api.listen}/shells",
        "  read a live value: curl -s "
        f"'{api.listen}/submodels/{submodel}/submodel-elements/motor_temperature/$value'",
    ]


def _banner(
    runtime: AgentRuntime, pump: SimulatedPumpDevice, pki: Path, broker: DemoBroker | None = None
) -> str:
    endpoint = runtime.server.endpoint_url
    lines = [
        f"edge-agent demo is serving OPC UA at {endpoint}",
        *(f"  endpoint: {line}" for line in runtime.server.security_summary()),
        f"  simulated pump: Modbus TCP {pump.host}:{pump.port} unit {pump.unit} "
        f"(write holding register {FAULT_REGISTER} = 1 to start a bearing fault)",
        f'  browse it:  uals -u {endpoint} -p "0:Objects,{_shell_path(runtime)}" -d 3',
        f"  a secure client's certificate lands in {pki / 'rejected'}; "
        f"move it to {pki / 'trusted' / 'certs'} to trust it",
        *_aas_api_lines(runtime),
        *_sparkplug_lines(runtime, broker),
        f"  status: {runtime.status()}",
        "  Ctrl-C stops.",
    ]
    return "\n".join(lines)


async def run_demo(options: DemoOptions) -> None:
    """Start the simulated plant, then the agent on the demo config; return when told to stop."""
    config = load_config(options.config_path)
    state_dir = options.state_dir or default_state_dir()
    pki = (state_dir / "pki").resolve()
    pump_config = next((s for s in config.sources if s.name == PUMP_SOURCE), None)
    port = options.modbus_port if options.modbus_port is not None else getattr(pump_config, "port", 5020)
    endpoint = options.endpoint or config.opcua.endpoint
    aas_api_port = options.aas_api_port
    if aas_api_port == 0:
        aas_api_port = _free_port()
    # refuse bad options first
    _with_overrides(config, endpoint=endpoint, pki=pki, pump_port=port or 1, aas_api_port=aas_api_port)
    pump = SimulatedPumpDevice(
        host="127.0.0.1", port=port, seed=options.seed, bearing_fault=options.bearing_fault
    )
    await pump.start()
    # The broker's config and the edge node's outbox are the demo's for one run only.
    scratch = tempfile.TemporaryDirectory(prefix="edge-agent-demo-")
    broker = await start_demo_broker(Path(scratch.name))

    def transform(loaded: AgentConfig) -> AgentConfig:
        overridden = _with_overrides(
            loaded, endpoint=endpoint, pki=pki, pump_port=pump.port, aas_api_port=aas_api_port
        )
        return _with_broker(overridden, broker)

    def ready(runtime: AgentRuntime) -> None:
        print(_banner(runtime, pump, pki, broker), flush=True)
        if options.on_ready is not None:
            options.on_ready(runtime)

    panel_task = _start_panel(config, pump)
    supervisor = Supervisor(options.config_path, transform=transform, on_ready=ready)
    try:
        await supervisor.run(transform(config))
    finally:
        if panel_task is not None:
            panel_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await panel_task
        await pump.stop()
        if broker is not None:
            await broker.stop()
        scratch.cleanup()


def _start_panel(config: AgentConfig, pump: SimulatedPumpDevice) -> asyncio.Task[None] | None:
    panel_config = next(
        (s for s in config.sources if isinstance(s, GpioSourceConfig) and s.pin_factory == "mock"), None
    )
    if panel_config is None:
        return None
    from drivers.gpio.factories import pin_factory, pin_number

    inputs = [p for p in panel_config.points if isinstance(p, GpioInput)]
    counters = [p for p in panel_config.points if isinstance(p, GpioCounter)]
    if not inputs or not counters:
        return None
    panel = SimulatedPanel(
        pin_factory("mock"),
        door_pin=pin_number(inputs[0].pin),
        pulse_pin=pin_number(counters[0].pin),
        flow_m3h=lambda: pump.pump.state.flow_rate,
    )
    return asyncio.create_task(panel.run(), name="simulated panel")
