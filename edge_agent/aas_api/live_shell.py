"""The agent's AAS environment as the HTTP face serves it: live values from the tag store, writes to it.

One environment, built by ``edge_agent.aas.build_environment`` as for the OPC UA shell and the exports;
the HTTP face never keeps a copy of a value: a live property's value is set from the tag store right
before it is answered with. Writes take the OPC UA write rules (``from_variant``: the tag's own type, or a
number that type holds exactly) and the same rights (Part 18 roles), and are audited alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from aas_core3 import types as aas
from asyncua import ua

from ..aas.elements import lexical
from ..aas.live import as_tag_type, live_tag_name
from ..audit import audit
from ..opcua.rights import Right
from ..opcua.tag_values import TagValueError, from_variant
from ..quality import Quality
from ..tagstore import TagStore, UnknownTagError
from .model import Principal, TagValue

log = logging.getLogger(__name__)

_VARIANTS: dict[type, ua.VariantType] = {
    bool: ua.VariantType.Boolean,
    int: ua.VariantType.Int64,
    float: ua.VariantType.Double,
    str: ua.VariantType.String,
}
"""How a value parsed from a request arrives at the OPC UA write rule: as the widest variant of its kind."""


class LiveShell:
    """A ShellModel over the agent's environment and tag store."""

    def __init__(self, environment: aas.Environment, store: TagStore) -> None:
        self._environment = environment
        self._store = store
        # The live properties within each part asked for so far, by the part's identity: walking a part's
        # tree costs more than setting its values, and the tree does not change until ``replace``.
        self._live: dict[int, tuple[aas.Class, list[tuple[aas.Property, str]]]] = {}
        self._on_replace: list[Callable[[], None]] = []
        self._version = 0

    @property
    def version(self) -> int:
        return self._version

    @property
    def store(self) -> TagStore:
        """The tag store the live values come from and the writes go to."""
        return self._store

    def environment(self) -> aas.Environment:
        return self._environment

    def replace(self, environment: aas.Environment, store: TagStore) -> None:
        """Serve a new environment (a reloaded config's) from now on."""
        self._environment = environment
        self._store = store
        self._live = {}
        self._version += 1
        for callback in list(self._on_replace):
            callback()

    def on_replace(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` after each ``replace``; returns what stops that."""
        self._on_replace.append(callback)
        return lambda: self._on_replace.remove(callback)

    def refresh(self, part: aas.Class) -> None:
        known = self._live.get(id(part))
        if known is None or known[0] is not part:
            known = self._live[id(part)] = (part, list(_live_properties(part)))
        store = self._store
        for element, tag in known[1]:
            try:
                reading = store.current(tag)
                info = store.info(tag)
            except UnknownTagError:
                continue  # a property of a tag the store no longer has: keep what it showed
            value = as_tag_type(reading.value, info.data_type)
            shown = None if value is None else lexical(value)
            if element.value != shown:
                element.value = shown
                self._version += 1

    async def write(self, tag: str, value: TagValue, principal: Principal, via: str = "aas-api") -> Quality:
        quality = await self._write(tag, value, principal)
        audit("write", who=principal.who, via=via, tag=tag, value=value, result=quality.name)
        return quality

    async def _write(self, tag: str, value: TagValue, principal: Principal) -> Quality:
        if Right.WRITE not in principal.rights:
            return Quality.BadUserAccessDenied
        try:
            info = self._store.info(tag)
        except UnknownTagError:
            return Quality.BadNotWritable
        if not info.writable:
            return Quality.BadNotWritable
        try:
            written = from_variant(info, ua.Variant(value, _VARIANTS[type(value)]))
        except TagValueError as exc:
            log.info("refused a write to %s over the AAS API: %s", tag, exc)
            return exc.quality
        try:
            return await self._store.write(tag, written)
        except Exception:
            log.exception("writing %r to %s failed", written, tag)
            return Quality.BadInternalError


def _live_properties(part: aas.Class) -> Iterator[tuple[aas.Property, str]]:
    candidates = [part] if isinstance(part, aas.Property) else []
    for element in (*candidates, *part.descend()):
        if isinstance(element, aas.Property) and (tag := live_tag_name(element)) is not None:
            yield element, tag
