"""One OPC UA server for bench/opcua.py, in a process of its own so that its RSS and CPU time are its own.

    python -m bench.opcua_server {agent,raw} TAGS PORT PKI [--change-hz HZ] [--one-source] [--unit-range]
                                 [--freeze-gc] [--shell] [--address-space {full,standard,micro}]

``agent`` is the agent's server: AgentOpcUaServer over a TagStore of float tags, in sources of 100 tags
each, or all in one source with ``--one-source``; with ``--unit-range`` every tag has a unit and a range,
so EngineeringUnits and EURange properties too; with ``--shell`` the agent also serves an Asset
Administration Shell (OPC 30270) with every tag as a live property of its Operational Data submodel;
``--address-space`` is its opcua.address_space (default full).
``raw`` is a bare asyncua Server holding the same number of plain Double variables in folders of 100.
Tag i is ``ns=<NAMESPACE>;s=tag<i>`` on both.

With ``--change-hz``, every tag gets a new value that many times a second, all stamped with the time of
their round: through the tag store for the agent, with ``Server.write_attribute_value`` for the raw
server. With ``--freeze-gc``, ``gc.freeze()`` once serving.

Serves until its stdin closes, then prints "rounds <done> late <rounds that started late>".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from asyncua import Server, ua

# The agent's modules are imported where the agent is served: a `raw` server's RSS must be asyncua's alone.
if TYPE_CHECKING:
    from aas_core3 import types as aas

    from edge_agent.config.opcua import OpcUaConfig
    from edge_agent.tags import TagInfo

RAW_NAMESPACE_URI = "urn:bench:raw"
APPLICATION_URI = "urn:edge-agent:bench"
PER_PARENT = 100
SHELL_ID = "urn:bench:aas"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ChangeRound = Callable[[int, int], Awaitable[None]]
Stop = Callable[[], Awaitable[None]]


def tag_name(i: int) -> str:
    return f"tag{i}"


def agent_config(port: int, pki: Path, address_space: str = "full") -> OpcUaConfig:
    from edge_agent.config.opcua import OpcUaConfig

    return OpcUaConfig.model_validate(
        {
            "endpoint": f"opc.tcp://127.0.0.1:{port}",
            "application_uri": APPLICATION_URI,
            "pki": str(pki),
            "insecure": {"none_policy": True, "anonymous_read": True},
            "address_space": address_space,
        }
    )


def shell_of(infos: list[TagInfo]) -> aas.Environment:
    """A shell whose Operational Data submodel has every tag as a live property."""
    from aas_core3 import types as aas

    from edge_agent.aas.elements import submodel, submodel_reference
    from edge_agent.aas.ids import OPERATIONAL_DATA_SUBMODEL, SubmodelIds
    from edge_agent.aas.live import live_property

    submodel_ids = SubmodelIds(SHELL_ID)
    operational = submodel(
        submodel_ids.operational_data,
        "OperationalData",
        OPERATIONAL_DATA_SUBMODEL,
        [live_property(info) for info in infos],
    )
    shell = aas.AssetAdministrationShell(
        SHELL_ID,
        aas.AssetInformation(aas.AssetKind.INSTANCE, global_asset_id="urn:bench:asset"),
        id_short="bench",
        submodels=[submodel_reference(operational.id)],
    )
    return aas.Environment(asset_administration_shells=[shell], submodels=[operational])


async def serve_agent(
    tags: int,
    port: int,
    pki: Path,
    *,
    one_source: bool,
    unit_range: bool,
    shell: bool,
    address_space: str = "full",
) -> tuple[ChangeRound, Stop]:
    from edge_agent.opcua import AgentOpcUaServer
    from edge_agent.quality import Quality
    from edge_agent.tags import Reading, TagInfo
    from edge_agent.tagstore import TagStore

    unit, range_ = ("degC", (0.0, 100.0)) if unit_range else (None, None)
    infos = [
        TagInfo(tag_name(i), "source0" if one_source else f"source{i // PER_PARENT}", "float", unit, range_)
        for i in range(tags)
    ]
    store = TagStore(infos)
    server = AgentOpcUaServer(
        agent_config(port, pki, address_space),
        store,
        server_name="bench",
        application_uri=APPLICATION_URI,
        environment=(lambda der: shell_of(infos)) if shell else None,
    )
    await server.start()
    names = [tag_name(i) for i in range(tags)]

    async def change(round_: int, stamp_ns: int) -> None:
        for i, name in enumerate(names):
            store.publish(Reading(name, round_ + i / 1000, Quality.Good, stamp_ns))

    return change, server.stop


async def serve_raw(tags: int, port: int) -> tuple[ChangeRound, Stop]:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}")
    idx = await server.register_namespace(RAW_NAMESPACE_URI)
    nodeids = []
    for i in range(tags):
        if i % PER_PARENT == 0:
            folder = await server.nodes.objects.add_folder(idx, f"folder{i // PER_PARENT}")
        variable = await folder.add_variable(ua.NodeId(tag_name(i), idx), tag_name(i), 0.0)
        nodeids.append(variable.nodeid)
    await server.start()

    async def change(round_: int, stamp_ns: int) -> None:
        stamp = _EPOCH + timedelta(microseconds=stamp_ns // 1000)
        for i, nodeid in enumerate(nodeids):
            value = ua.Variant(round_ + i / 1000, ua.VariantType.Double)
            await server.write_attribute_value(
                nodeid, ua.DataValue(value, SourceTimestamp=stamp, ServerTimestamp=stamp)
            )

    return change, server.stop


async def change_forever(change: ChangeRound, hz: float, counts: list[int]) -> None:
    """Rounds on a fixed schedule; a round that starts late is counted, and the schedule does not slip."""
    loop = asyncio.get_running_loop()
    period = 1 / hz
    start = loop.time()
    round_ = 0
    while True:
        round_ += 1
        await change(round_, time.time_ns())
        counts[0] += 1
        delay = start + round_ * period - loop.time()
        if delay <= 0:
            counts[1] += 1
        # Even a late round yields, or the server could not answer anyone.
        await asyncio.sleep(max(delay, 0))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["agent", "raw"])
    parser.add_argument("tags", type=int)
    parser.add_argument("port", type=int)
    parser.add_argument("pki", type=Path)
    parser.add_argument("--change-hz", type=float)
    parser.add_argument("--one-source", action="store_true")
    parser.add_argument("--unit-range", action="store_true")
    parser.add_argument("--freeze-gc", action="store_true")
    parser.add_argument("--shell", action="store_true")
    parser.add_argument("--address-space", choices=["full", "standard", "micro"], default="full")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    if args.kind == "agent":
        change, stop = await serve_agent(
            args.tags,
            args.port,
            args.pki,
            one_source=args.one_source,
            unit_range=args.unit_range,
            shell=args.shell,
            address_space=args.address_space,
        )
    else:
        change, stop = await serve_raw(args.tags, args.port)
    if args.freeze_gc:
        # The address space is built once and kept: frozen, it is left out of every later collection
        # (a full one otherwise walks all of it, for 100s of ms).
        gc.freeze()
    counts = [0, 0]
    changing = asyncio.create_task(change_forever(change, args.change_hz, counts)) if args.change_hz else None
    await asyncio.to_thread(sys.stdin.read)
    if changing is not None:
        changing.cancel()
    await stop()
    print(f"rounds {counts[0]} late {counts[1]}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
