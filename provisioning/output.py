"""What the technician sees: a short text, or one JSON object on stdout with --json; and confirmations."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from .errors import ProvisioningError


class Reporter:
    def __init__(
        self,
        *,
        json_output: bool,
        assume_yes: bool,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        stdin: TextIO | None = None,
    ) -> None:
        self._json = json_output
        self._assume_yes = assume_yes
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self._stdin = stdin or sys.stdin

    def result(self, command: str, message: str, details: dict[str, Any]) -> None:
        if self._json:
            self._print_json({"ok": True, "command": command, "message": message, **details})
            return
        print(message, file=self._stdout)
        for key, value in details.items():
            if value in (None, [], {}):
                continue
            print(f"  {key.replace('_', ' ')}: {_text(value)}", file=self._stdout)

    def error(self, command: str, error: ProvisioningError) -> None:
        print(f"edge-provision {command}: error: {error}", file=self._stderr)
        if self._json:
            self._print_json(
                {"ok": False, "command": command, "error": str(error), "exit_code": error.exit_code}
            )

    def confirm(self, question: str) -> bool:
        """Yes with --yes or without a terminal to ask on (the command line already said what to do)."""
        if self._assume_yes or not self._stdin.isatty():
            return True
        print(f"{question} [y/N] ", end="", file=self._stderr, flush=True)
        return self._stdin.readline().strip().lower() in ("y", "yes")

    def _print_json(self, data: dict[str, Any]) -> None:
        print(json.dumps(data, indent=2), file=self._stdout)


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} {_text(item)}" for key, item in value.items() if item not in (None, [], {}))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
