"""The shell's administration methods: ReloadConfiguration, GetDiagnostics, ExportAAS.

What each does belongs to the runtime (an ``Administration``); this module only puts them on the shell
as OPC UA methods with typed, named arguments. A failure inside one is answered with Bad status codes,
never with a dropped connection.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from asyncua import Server, ua

log = logging.getLogger(__name__)


class Administration(Protocol):
    """What the administration methods do, provided by the runtime."""

    async def reload_configuration(self) -> tuple[bool, str]:
        """Check the config file and, if it is valid, start reloading it: (accepted, what happened)."""
        ...

    def diagnostics(self) -> dict[str, Any]:
        """Versions, uptime, and per-source and per-model statistics, as JSON-ready data."""
        ...

    def export_aas(self) -> str:
        """The shell as AAS V3 JSON, with the values of now."""
        ...


def _argument(name: str, data_type: int, description: str) -> ua.Argument:
    argument = ua.Argument()
    argument.Name = name
    argument.DataType = ua.NodeId(data_type)
    argument.ValueRank = ua.ValueRank.Scalar
    argument.Description = ua.LocalizedText(description)
    return argument


async def add_admin_methods(
    server: Server, shell: ua.NodeId, namespace_index: int, administration: Administration | None
) -> dict[str, ua.NodeId]:
    """Add the methods to ``shell``; without an administration they answer BadNotImplemented."""
    node = server.get_node(shell)

    def unavailable() -> ua.StatusCode:
        return ua.StatusCode(ua.StatusCodes.BadNotImplemented)

    async def reload_configuration(parent: ua.NodeId) -> list[ua.Variant] | ua.StatusCode:
        if administration is None:
            return unavailable()
        accepted, message = await administration.reload_configuration()
        return [ua.Variant(accepted, ua.VariantType.Boolean), ua.Variant(message, ua.VariantType.String)]

    def get_diagnostics(parent: ua.NodeId) -> list[ua.Variant] | ua.StatusCode:
        if administration is None:
            return unavailable()
        document = json.dumps(administration.diagnostics(), indent=2, sort_keys=True, default=str)
        return [ua.Variant(document, ua.VariantType.String)]

    def export_aas(parent: ua.NodeId) -> list[ua.Variant] | ua.StatusCode:
        if administration is None:
            return unavailable()
        return [ua.Variant(administration.export_aas(), ua.VariantType.String)]

    methods: list[tuple[str, Callable[..., Any], list[ua.Argument], str]] = [
        (
            "ReloadConfiguration",
            _guarded(reload_configuration),
            [
                _argument(
                    "Accepted", ua.ObjectIds.Boolean, "Whether the config file is valid and is being loaded"
                ),
                _argument(
                    "Message", ua.ObjectIds.String, "What happened, or every problem of the config file"
                ),
            ],
            "Check the configuration file and load it as SIGHUP does; an invalid file changes nothing",
        ),
        (
            "GetDiagnostics",
            _guarded(get_diagnostics),
            [
                _argument(
                    "Diagnostics", ua.ObjectIds.String, "JSON: versions, uptime, sources, models, server"
                )
            ],
            "The agent's versions, uptime and per-source and per-model statistics",
        ),
        (
            "ExportAAS",
            _guarded(export_aas),
            [_argument("Environment", ua.ObjectIds.String, "The AAS V3 environment as JSON")],
            "The Asset Administration Shell with its submodels and current values, as AAS V3 JSON",
        ),
    ]
    added: dict[str, ua.NodeId] = {}
    for name, handler, outputs, description in methods:
        method = await node.add_method(
            ua.NodeId(f"{shell.Identifier}#{name}", namespace_index),
            ua.QualifiedName(name, namespace_index),
            handler,
            [],
            outputs,
        )
        await method.write_attribute(
            ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(description)))
        )
        added[name] = method.nodeid
    return added


def _guarded(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """A method callback taking no arguments; BadInternalError (and a log line) if ``handler`` raises."""

    async def call(parent: ua.NodeId, *arguments: ua.Variant) -> Any:
        if arguments:
            return ua.StatusCode(ua.StatusCodes.BadTooManyArguments)
        try:
            result = handler(parent)
            if isinstance(result, Awaitable):
                result = await result
        except Exception:
            log.exception("the method %s failed", handler.__name__)
            return ua.StatusCode(ua.StatusCodes.BadInternalError)
        return result

    return call
