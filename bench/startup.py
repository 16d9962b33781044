"""Start time and memory of the demo: from the command to a served OPC UA endpoint, and its RSS."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

SETTLE_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DemoServing:
    """The demo once its OPC UA port accepts connections."""

    ready_s: float
    listening_s: float
    port: int
    process: psutil.Process

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}"


@contextmanager
def demo_serving() -> Iterator[DemoServing]:
    """`edge-agent demo` on free ports, from its command to the OPC UA port accepting; stopped on exit."""
    with tempfile.TemporaryDirectory() as state:
        port = free_port()
        started = time.perf_counter()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edge_agent",
                "--log-level",
                "warning",
                "demo",
                "--endpoint",
                f"opc.tcp://127.0.0.1:{port}",
                "--modbus-port",
                "0",
                "--aas-api-port",
                "0",
                "--state-dir",
                state,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if "serving OPC UA at" in line:
                    break
            ready = time.perf_counter() - started
            while True:
                # A demo that failed to start must not leave its caller waiting on the port for good.
                if process.poll() is not None:
                    raise RuntimeError(f"the demo exited with {process.returncode} before serving OPC UA")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.01)
            listening = time.perf_counter() - started
            yield DemoServing(ready, listening, port, psutil.Process(process.pid))
        finally:
            process.terminate()
            process.wait(10)


def main() -> None:
    with demo_serving() as demo:
        time.sleep(SETTLE_S)
        rss = demo.process.memory_info().rss
    print("\ndemo start and memory (one process: agent + simulated pump + panel)")
    print(f"{'command to READY line':<44} {demo.ready_s:>10.2f} s")
    print(f"{'command to OPC UA port accepting':<44} {demo.listening_s:>10.2f} s")
    print(f"{f'RSS after {SETTLE_S:.0f} s serving':<44} {rss / 2**20:>10.1f} MB")


if __name__ == "__main__":
    main()
