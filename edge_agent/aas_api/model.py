"""What the HTTP face needs of the agent: the shell it serves, its live values, writes, and who asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aas_core3 import types as aas

from ..opcua.rights import Right
from ..quality import Quality

TagValue = bool | int | float | str


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: a user of the users file (or a client certificate's user), with the rights
    of their Part 18 role; or the loopback demo's anonymous reader."""

    name: str
    roles: frozenset[str]
    rights: frozenset[Right]

    @property
    def who(self) -> str:
        """As the audit log names a user: name and roles."""
        return f"{self.name} ({', '.join(sorted(self.roles))})"


class ShellModel(Protocol):
    """The agent's AAS environment as the HTTP face serves it.

    ``environment()`` is the one environment the agent built (the OPC UA shell is built from the same);
    the values of its live properties (``edge_agent.aas.live.live_tag_name``) are those of the last
    ``refresh``. Handlers refresh what they are about to answer with, so that every answer shows the tags'
    current values.
    """

    def environment(self) -> aas.Environment: ...

    @property
    def version(self) -> int:
        """Moves on whenever a refresh changes a live value or the environment is replaced: an answer made
        at one version holds as long as the version stays."""
        ...

    def refresh(self, part: aas.Class) -> None:
        """Set every live property within ``part`` (the environment, a shell, a submodel or an element)
        to its tag's current value."""
        ...

    async def write(self, tag: str, value: TagValue, principal: Principal, via: str = "aas-api") -> Quality:
        """Send a write of a live property's tag to the device through the tag store, audited; the
        device's answer. BadUserAccessDenied for a principal without the WRITE right, BadNotWritable for a
        tag that is not writable, BadTypeMismatch/BadOutOfRange for a value the tag cannot take."""
        ...
