"""Start time and memory of the demo: from the command to a served OPC UA endpoint, and its RSS."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time

import psutil

SETTLE_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
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
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.01)
            listening = time.perf_counter() - started
            time.sleep(SETTLE_S)
            rss = psutil.Process(process.pid).memory_info().rss
        finally:
            process.terminate()
            process.wait(10)
    print("\ndemo start and memory (one process: agent + simulated pump + panel)")
    print(f"{'command to READY line':<44} {ready:>10.2f} s")
    print(f"{'command to OPC UA port accepting':<44} {listening:>10.2f} s")
    print(f"{f'RSS after {SETTLE_S:.0f} s serving':<44} {rss / 2**20:>10.1f} MB")


if __name__ == "__main__":
    main()
