"""`make arm64-check`: the agent on Debian arm64 (Raspberry Pi OS's base), under qemu's emulation.

For each Debian release asked for (bookworm, the base of Raspberry Pi OS Bookworm, by default): make or
reuse the root file system, install the agent's wheel as the README's Raspberry Pi section says, run
`edge-agent check` and `edge-agent demo` in it (the demo read from this machine over OPC UA and HTTP, and
run natively too for the emulation's slowdown), a smoke subset of the tests, and the image path: seed a
copy with `edge-provision image`, boot it, and read the agent that the first boot made a key for.
Prints each step's time. Needs root.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

import psutil

from tests.support.agent_process import demo_arguments

from . import first_boot, smoke
from .container import Container, descendant
from .demo_run import DemoRun, bare_python_rss_mb, run_demo
from .emulation import ARM64, ensure_registered
from .record import Record
from .rootfs import SUITES, Suite, base_root, copy_root

CHECKOUT = Path(__file__).resolve().parents[1]
VENV = "/opt/edge-agent"
TOOLS = ("debootstrap", "systemd-nspawn", "nsenter")
# What the emulated system says of itself, from the installed agent's Python.
REPORT_VERSIONS = """\
import importlib.metadata as m, platform, sys
from edge_agent.inference.backend import interpreter_class
names = ("numpy", "cryptography", "asyncua", "pymodbus")
print(platform.machine(), "Python", platform.python_version(), "TFLite:", interpreter_class()[0],
      *(f"{n} {m.version(n)}" for n in names))
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m image.arm64_check", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--suite",
        action="append",
        choices=sorted(SUITES),
        help="Debian release to check (repeatable; default: bookworm)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("ARM64_CACHE", CHECKOUT / ".cache" / "arm64")),
        help="where root file systems, work copies and logs are kept (default: %(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds any one wait may take")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # asyncua's client warns that the server shortened its session timeout: expected, and not this check's.
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    problem = _preflight()
    if problem:
        print(f"arm64-check: {problem}", file=sys.stderr)
        return 2
    cache: Path = args.cache.absolute()
    record = Record(cache / "logs")
    failed = False
    try:
        with record.step("binfmt_misc: qemu-aarch64") as outcome:
            outcome.detail = ensure_registered(ARM64)
        with record.step("wheel from the checkout") as outcome:
            wheel = _build_wheel(cache / "work" / "dist", record)
            outcome.detail = f"{wheel.name}, {wheel.stat().st_size / 1024:.0f} KB"
        for name in args.suite or ["bookworm"]:
            _check_suite(SUITES[name], wheel, cache, record, args.timeout)
    except Exception as exc:  # any failure ends the check with the table of what ran; its trace goes to a log
        (cache / "logs" / "failure.log").write_text(traceback.format_exc())
        print(f"\narm64-check FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        failed = True
    table = record.table()
    print(f"\n{table}")
    (cache / "logs" / "summary.txt").write_text(table + "\n")
    return 1 if failed else 0


def _preflight() -> str | None:
    if platform.system() != "Linux":
        return "runs on Linux only"
    if os.geteuid() != 0:
        return "needs root (debootstrap, binfmt_misc, systemd-nspawn): run it as root or through sudo"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found: `make arm64-tools` installs Debian's packages"
    return None


def _build_wheel(dist: Path, record: Record) -> Path:
    """The agent's wheel, built from a copy of the checkout (its work tree as it is, uncommitted changes too;
    the copy keeps setuptools' build/ out of the checkout)."""
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="edge-agent-source-") as source:
        shutil.copytree(
            CHECKOUT,
            source,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", ".cache", "build", "node_modules", "__pycache__", "*.egg-info", ".hypothesis"
            ),
        )
        record.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), source],
            log_name="wheel",
        )
    (wheel,) = dist.glob("edge_agent-*.whl")
    return wheel


def _check_suite(suite: Suite, wheel: Path, cache: Path, record: Record, timeout: float) -> None:
    label = f"{suite.name} arm64"
    work = cache / "work" / suite.name
    with record.step(f"{label}: root file system (debootstrap)") as outcome:
        base, made = base_root(cache, suite, ARM64, record)
        outcome.detail = f"{'made' if made else 'from the cache'}: {base}"

    with record.step(f"{label}: install as the README says") as outcome:
        installed = copy_root(base, work / "installed")
        container = Container(installed, read_only={"/run/dist": wheel.parent})
        record.run(
            container.command(["python3", "-m", "venv", "--system-site-packages", VENV]), log_name="install"
        )
        record.run(
            container.command([f"{VENV}/bin/pip", "install", f"/run/dist/{wheel.name}"]), log_name="install"
        )
        versions = record.run(
            container.command([f"{VENV}/bin/python", "-c", REPORT_VERSIONS]), log_name="versions"
        )
        outcome.detail = _last_line(versions)
    # The image starts from the installed root as it is now, before the checks below add to it.
    image_root = copy_root(installed, work / "image")

    with record.step(f"{label}: edge-agent check (demo config)") as outcome:
        found = record.run(
            container.command([f"{VENV}/bin/edge-agent", "check", _demo_config(installed)]),
            log_name="check",
        )
        outcome.detail = _last_line(found).split(": ", 1)[-1]

    with record.step(f"{label}: edge-agent demo, read from the host") as outcome:
        emulated = run_demo(
            container.command(
                [f"{VENV}/bin/edge-agent", *demo_arguments("/var/lib/edge-agent-demo")],
                environment={"PYTHONUNBUFFERED": "1"},
                kill_signal="SIGTERM",
            ),
            record.log_file("demo-emulated"),
            lambda process: descendant(process.pid, "edge-agent", "demo"),
            timeout=timeout,
        )
        outcome.detail = _demo_detail(emulated)
    with record.step("x86-64 native: edge-agent demo, for comparison") as outcome:
        with tempfile.TemporaryDirectory(prefix="edge-agent-demo-") as state:
            native = run_demo(
                [sys.executable, "-m", "edge_agent", *demo_arguments(state)],
                record.log_file("demo-native"),
                lambda process: psutil.Process(process.pid),
                timeout=120,
            )
        bare_emulated = bare_python_rss_mb(container.command([f"{VENV}/bin/python", "-c"]))
        bare_native = bare_python_rss_mb([sys.executable, "-c"])
        outcome.detail = (
            f"{_demo_detail(native)}; emulation: start x{emulated.start_s / native.start_s:.1f}, "
            f"RSS x{emulated.rss_mb / native.rss_mb:.2f}; a bare Python {bare_emulated:.0f} MB emulated, "
            f"{bare_native:.0f} MB native"
        )

    with record.step(f"{label}: smoke tests") as outcome:
        record.run(
            container.command([f"{VENV}/bin/pip", "install", *smoke.requirements_for_tests()]),
            log_name="smoke",
        )
        smoke.copy_tests(installed)
        output = record.run(
            container.command(smoke.pytest_arguments(f"{VENV}/bin/python"), chdir=smoke.TESTS_IN_ROOT),
            log_name="smoke",
            timeout=timeout * 2,
        )
        outcome.detail = _last_line(output).strip("= ")

    with record.step(f"{label}: edge-provision image --root") as outcome:
        gateway = first_boot.prepare(work / "gateway", record)
        outcome.detail = first_boot.seed(image_root, gateway, record)
    if suite.cannot_boot:
        # The issue's fallback: the units' commands, run as the units would run them, without systemd.
        print(f"   {label} does not boot under emulation: {suite.cannot_boot}", flush=True)
        with record.step(f"{label}: first-boot and agent commands, no boot") as outcome:
            times = first_boot.run_units_by_hand(image_root, gateway, record, outcome, timeout)
            outcome.detail = ", ".join(f"{what} at {seconds:.0f} s" for what, seconds in times.items()) + (
                f"; {outcome.detail}"
            )
        return
    with record.step(f"{label}: boot, first-boot key, agent serving") as outcome:
        times = first_boot.boot_and_serve(image_root, gateway, record, outcome, timeout)
        outcome.detail = ", ".join(f"{what} at {seconds:.0f} s" for what, seconds in times.items()) + (
            f"; {outcome.detail}"
        )


def _demo_config(root: Path) -> str:
    (found,) = (root / "opt/edge-agent/lib").glob("python3*/site-packages/edge_agent/demo/demo.yaml")
    return "/" + str(found.relative_to(root))


def _demo_detail(run: DemoRun) -> str:
    return f"serving after {run.start_s:.1f} s, peak RSS {run.rss_mb:.0f} MB; {run.summary}"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and "Attempted to remove" not in line]
    return lines[-1] if lines else ""


if __name__ == "__main__":
    raise SystemExit(main())
