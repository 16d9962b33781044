"""What the shell's administration methods do, for one running AgentRuntime."""

from __future__ import annotations

import functools
import platform
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization

from edge_agent.aas import build_environment, model_info, to_json

if TYPE_CHECKING:
    from .agent import AgentRuntime

ReloadRequest = Callable[[], Awaitable[tuple[bool, str]]]

_PACKAGES = (
    "edge-agent",
    "asyncua",
    "pymodbus",
    "gpiozero",
    "aas-core3.0",
    "numpy",
    "tflite-runtime",
    "ai-edge-litert",
)
_PROCESS_STARTED = time.monotonic()


def package_versions() -> dict[str, str]:
    """The versions of the agent and the libraries it runs on; those not installed are left out."""
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> dict[str, str]:
    # Read once: finding each package's metadata walks the import path, and a process's versions stay.
    found = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


class RuntimeAdministration:
    """ReloadConfiguration, GetDiagnostics and ExportAAS of one runtime (the Administration protocol)."""

    def __init__(self, runtime: AgentRuntime, reload: ReloadRequest | None) -> None:
        self._runtime = runtime
        self._reload = reload
        self._started = time.monotonic()

    async def reload_configuration(self) -> tuple[bool, str]:
        if self._reload is None:
            return False, "this agent runs a config it was handed, not a file it could read again"
        return await self._reload()

    def diagnostics(self) -> dict[str, Any]:
        runtime, now = self._runtime, time.monotonic()
        snapshot = runtime.store.snapshot()
        sources = []
        for source, config in zip(runtime.sources, runtime.config.sources, strict=True):
            qualities = Counter(snapshot[info.name].quality.name for info in source.tag_infos())
            sources.append(
                {
                    "name": source.name,
                    "driver": config.driver,
                    "tags": sum(qualities.values()),
                    "qualities": dict(qualities),
                    **source.statistics(),
                }
            )
        return {
            "versions": package_versions(),
            "uptime_s": round(now - _PROCESS_STARTED, 3),
            "config_uptime_s": round(now - self._started, 3),
            "status": runtime.status(),
            "tags": len(snapshot),
            "sources": sources,
            "models": [{"name": p.config.name, **p.statistics()} for p in runtime.pipelines],
            "opcua": runtime.server.diagnostics(),
            "history": _history(runtime),
        }

    def export_aas(self) -> str:
        runtime = self._runtime
        identity = runtime.server.identity
        der = identity.certificate.public_bytes(serialization.Encoding.DER) if identity else None
        return to_json(
            build_environment(
                runtime.config,
                certificate_der=der,
                model_info=model_info(runtime.config, runtime.pipelines),
                values=runtime.store.snapshot(),
            )
        )


def _history(runtime: AgentRuntime) -> dict[str, Any] | None:
    store = runtime.history
    if store is None:
        return None
    return {
        "database": str(store.path),
        "fault": store.fault,
        "committed": store.committed,
        "queued": store.queued,
        "dropped": store.dropped,
    }
