"""The check's steps: each one timed, its commands' output kept in a log file, a table at the end."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# systemd-nspawn prints this when it tidies its propagation directory on a /run that is no tmpfs (as on
# a machine that systemd did not boot); it changes nothing.
NSPAWN_NOISE = "Attempted to remove disk file system under"


class StepFailed(RuntimeError):
    pass


@dataclass
class Outcome:
    """What a step found, for the table: set by the step while it runs."""

    detail: str = ""


@dataclass(frozen=True, slots=True)
class StepTime:
    name: str
    seconds: float
    detail: str
    passed: bool


@dataclass
class Record:
    log_dir: Path
    steps: list[StepTime] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def step(self, name: str) -> Iterator[Outcome]:
        print(f"== {name}", flush=True)
        outcome = Outcome()
        started = time.monotonic()
        try:
            yield outcome
        except BaseException as exc:
            self.steps.append(StepTime(name, time.monotonic() - started, f"FAILED: {exc}", False))
            raise
        seconds = time.monotonic() - started
        self.steps.append(StepTime(name, seconds, outcome.detail, True))
        print(f"   {seconds:.1f} s  {outcome.detail}", flush=True)

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def run(
        self,
        args: list[str],
        *,
        log_name: str,
        timeout: float | None = None,
    ) -> str:
        """Run ``args``, its output appended to the step's log and returned; StepFailed (with the log's end)
        unless it exits 0."""
        log = self.log_file(log_name)
        with log.open("ab") as output:
            output.write(f"$ {' '.join(args)}\n".encode())
            output.flush()
            start = output.tell()
            try:
                finished = subprocess.run(
                    args,
                    check=False,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise StepFailed(f"{args[0]} took over {timeout:.0f} s; {tail(log)}") from None
        if finished.returncode != 0:
            raise StepFailed(f"{' '.join(args[:3])}... exited {finished.returncode}; {tail(log)}")
        with log.open("rb") as written:
            written.seek(start)
            return written.read().decode(errors="replace")

    def table(self) -> str:
        width = max((len(step.name) for step in self.steps), default=4)
        lines = [f"{'step':<{width}}  {'s':>7}  result", f"{'-' * width}  {'-' * 7}  ------"]
        lines += [f"{s.name:<{width}}  {s.seconds:7.1f}  {s.detail}" for s in self.steps]
        lines.append(f"{'total':<{width}}  {sum(s.seconds for s in self.steps):7.1f}")
        return "\n".join(lines)


def tail(log: Path, lines: int = 25) -> str:
    """The end of a log, for an error message."""
    kept = [line for line in log.read_text(errors="replace").splitlines() if NSPAWN_NOISE not in line]
    return f"the end of {log}:\n" + "\n".join(f"  | {line}" for line in kept[-lines:])
