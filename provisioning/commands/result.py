"""What a command group gives `edge-provision`: handlers, the result each returns, and its registration."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeAlias

from ..output import Reporter

Result: TypeAlias = tuple[str, dict[str, Any]]
"""A handler's outcome: the message for the technician, and the details (the fields of --json)."""

Handler: TypeAlias = Callable[[argparse.Namespace, Reporter], Result]

# argparse's action class is generic only to type checkers; at run time it cannot be subscripted.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

Register: TypeAlias = Callable[[Subcommands, list[argparse.ArgumentParser]], None]
"""A group module's `register(groups, common)`: adds its command (group) to ``groups``; ``common`` are the
parents that give every subcommand the global options."""
