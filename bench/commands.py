"""What each technician's command costs: wall time and peak RSS of `edge-agent` and `edge-provision`
commands other than `run`/`demo`, against a bare `python -c pass`, in one run (best of REPEAT each).

Targets: under 0.5 s and 60 MB each; and none imports asyncua, pymodbus, numpy or a TFLite interpreter
unless it needs them (printed per command).

    python -m bench.commands
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "edge_agent" / "demo" / "demo.yaml"
REPEAT = 3
TARGET_S = 0.5
TARGET_MB = 60.0
HEAVY = ("asyncua", "pymodbus", "numpy", "tflite_runtime", "ai_edge_litert", "aiohttp", "aiomqtt")

# Runs the command in-process, then reports its peak RSS and the heavy modules it imported: the same
# interpreter start and imports as the installed console scripts, plus a few lines.
PROBE = """
import contextlib, io, resource, runpy, sys
module, argv = sys.argv[1], sys.argv[2:]
sys.argv = [module, *argv]
code = 0
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        runpy.run_module(module, run_name="__main__")
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
heavy = [name for name in {heavy!r} if name in sys.modules]
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, ",".join(heavy) or "-")
"""


def measure(args: Callable[[int], list[str]]) -> tuple[float, float, str]:
    """Best wall time (s), its peak RSS (MB) and the heavy modules of ``python -c PROBE args(attempt)``;
    a command that fails is an error of the bench, not a fast run."""
    best = (float("inf"), 0.0, "")
    for attempt in range(REPEAT):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args(attempt)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.split()
        seconds = time.perf_counter() - started
        code, rss, heavy = int(out[-3]), int(out[-2]), out[-1]
        if code != 0:
            raise RuntimeError(f"{' '.join(args(attempt))} exited with {code}")
        if seconds < best[0]:
            best = (seconds, rss / 1024, heavy)
    return best


def commands(work: Path) -> list[tuple[str, Callable[[int], list[str]]]]:
    from edge_agent.identity.users import Role, ScryptCost, UserFile

    users = UserFile(work / "users.json")
    users.add("olivia", Role.OPERATOR, "a long enough password", cost=ScryptCost(ln=4))
    users.write()
    config = str(DEMO_CONFIG)

    def always(*args: str) -> Callable[[int], list[str]]:
        return lambda _: list(args)

    return [
        ("edge-agent --help", always("edge_agent", "--help")),
        ("edge-agent check demo.yaml", always("edge_agent", "check", config)),
        ("edge-agent schema", always("edge_agent", "schema")),
        ("edge-agent plan demo.yaml", always("edge_agent", "plan", config)),
        ("edge-agent export-aas demo.yaml", always("edge_agent", "export-aas", config)),
        ("edge-provision --help", always("provisioning", "--help")),
        (
            "edge-provision ca init (RSA 3072)",
            lambda attempt: [
                "provisioning",
                "ca",
                "init",
                "--dir",
                str(work / f"ca{attempt}"),
                "--name",
                "Bench",
            ],
        ),
        (
            "edge-provision user list",
            always("provisioning", "user", "list", "--users", str(work / "users.json")),
        ),
        ("edge-provision trust list", always("provisioning", "trust", "list", "--pki", str(work / "pki"))),
    ]


def main() -> None:
    bare_s, bare_mb, _ = _bare()
    print(
        f"\ncommands other than run/demo: best of {REPEAT}, against `python -c pass` ({bare_s:.2f} s, "
        f"{bare_mb:.1f} MB)"
    )
    print(f"{'command':<36} {'time s':>7} {'RSS MB':>7} {'heavy imports':>16} {'verdict':>8}")
    with tempfile.TemporaryDirectory() as directory:
        for name, args in commands(Path(directory)):
            seconds, mb, heavy = measure(args)
            verdict = "met" if seconds <= TARGET_S and mb <= TARGET_MB else "MISSED"
            print(f"{name:<36} {seconds:>7.2f} {mb:>7.1f} {heavy:>16} {verdict:>8}")
    print(f"targets: <= {TARGET_S} s and <= {TARGET_MB:.0f} MB each")


def _bare() -> tuple[float, float, str]:
    best = (float("inf"), 0.0, "")
    for _ in range(REPEAT):
        started = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        seconds = time.perf_counter() - started
        if seconds < best[0]:
            best = (seconds, int(out) / 1024, "")
    return best


if __name__ == "__main__":
    main()
