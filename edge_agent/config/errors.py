"""What a config that cannot be used reports: every problem, each with its place in the file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem, placed where an editor can jump to it (lines and columns count from 1).

    ``line`` and ``column`` are None only for problems with the file as a whole (it does not exist).
    ``path`` is the key path, like ``sources[0].points[2].address``; empty for problems not under a key.
    """

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.column or 1}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return _one_line(text)


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters (a key may hold them) written as escapes."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class ConfigError(Exception):
    """A config that cannot be used; ``str()`` gives one line per problem, in file order."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        unique = dict.fromkeys(problems)
        self.problems: list[ConfigProblem] = sorted(
            unique, key=lambda p: (p.line or 0, p.column or 0, p.path, p.message)
        )
        super().__init__("\n".join(str(problem) for problem in self.problems))
