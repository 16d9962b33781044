"""Run the simulated pump as a standalone Modbus TCP device: ``python -m edge_agent.simulator``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from .modbus_device import SimulatedPumpDevice

log = logging.getLogger("edge_agent.simulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m edge_agent.simulator",
        description="Serve a simulated centrifugal pump over Modbus TCP (register map: see modbus_device).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=5020, help="TCP port, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument("--unit", type=int, default=1, help="Modbus unit id (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="seed for a reproducible noise sequence")
    parser.add_argument("--fault", action="store_true", help="start with a bearing fault")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with SimulatedPumpDevice(
        host=args.host, port=args.port, unit=args.unit, seed=args.seed, bearing_fault=args.fault
    ) as device:
        log.info(
            "simulated pump listening on %s:%d, unit %d%s",
            device.host,
            device.port,
            device.unit,
            ", bearing fault on" if args.fault else "",
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pymodbus announces every connection at INFO; its warnings and errors are what matter here.
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
