"""One runtime as the status page reads it (edge_agent.status_page.StatusSource)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_agent.config import AlarmOutput
from edge_agent.identity import PkiLayout
from edge_agent.status_page import IdentitySummary
from edge_agent.tags import Reading, TagInfo

if TYPE_CHECKING:
    from .agent import AgentRuntime


class RuntimeStatus:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._runtime = runtime

    def diagnostics(self) -> dict[str, Any]:
        return self._runtime.administration.diagnostics()

    def tags(self) -> Sequence[TagInfo]:
        return self._runtime.store.tags

    def readings(self) -> Mapping[str, Reading]:
        return self._runtime.store.snapshot()

    def model_outputs(self) -> Mapping[str, Sequence[str]]:
        found = {}
        for model in self._runtime.config.models:
            statistics = set(model.statistics_tags())
            found[model.name] = [info.name for info in model.tag_infos() if info.name not in statistics]
        return found

    def status(self) -> str:
        return self._runtime.status()

    def listen(self, listener: Callable[[Reading], None]) -> Callable[[], None]:
        return self._runtime.store.listen(listener)

    async def history(self, tag: str, start_ns: int, end_ns: int) -> Sequence[Reading] | None:
        store = self._runtime.history
        if store is None or not store.records(tag):
            return None
        return await store.read(tag, start_ns=start_ns, end_ns=end_ns)

    def threshold(self, tag: str) -> float | None:
        for model in self._runtime.config.models:
            for output in model.outputs:
                if isinstance(output, AlarmOutput) and output.from_ == tag:
                    return output.above
        return None

    def identity(self) -> IdentitySummary | None:
        identity = self._runtime.server.identity
        if identity is None:
            return None
        pki = PkiLayout(self._runtime.config.opcua.pki)
        return IdentitySummary(
            subject=identity.certificate.subject.rfc4514_string(),
            not_after=identity.certificate.not_valid_after_utc,
            trusted=_certificates(pki.trusted_certs),
            issuers=_certificates(pki.issuer_certs),
            rejected=_certificates(pki.rejected),
        )


def _certificates(directory: Path) -> int:
    try:
        return sum(1 for path in directory.iterdir() if path.is_file())
    except OSError:
        return 0
