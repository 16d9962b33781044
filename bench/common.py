"""Timing helpers shared by the benchmarks: best-of-N wall time and a table printer."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable


def best_of(fn: Callable[[], object], *, repeat: int = 5, number: int = 1000) -> float:
    """Seconds per call, the best of ``repeat`` runs of ``number`` calls (least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


async def best_of_async(fn: Callable[[], Awaitable[object]], *, repeat: int = 5, number: int = 200) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            await fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def print_table(title: str, rows: list[tuple[str, float, float]]) -> None:
    """Rows of (what, edge-agent seconds per op, raw library seconds per op)."""
    print(f"\n{title}")
    print(f"{'operation':<44} {'edge-agent':>12} {'raw library':>12} {'ratio':>7}")
    for name, ours, raw in rows:
        print(f"{name:<44} {ours * 1e6:>10.1f}us {raw * 1e6:>10.1f}us {ours / raw:>7.2f}")
