"""The `edge-agent` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import json
import logging
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.agent_config import json_schema, load_config
from edge_agent.config import ConfigError
from edge_agent.logs import LOG_FORMATS, print_error, setup_logging

if TYPE_CHECKING:
    from edge_agent.runtime.agent import AgentRuntime

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2

log = logging.getLogger("edge_agent")

Handler = Callable[[argparse.Namespace], int]
"""A command: its parsed command line in, the exit code out."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-agent", description=__doc__)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="human-readable lines, or one JSON object per line (default: human, or the journal's own "
        "form when standard error is the systemd journal)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        subcommand = commands.add_parser(name, help=help_text)
        subcommand.set_defaults(handler=handler)
        return subcommand

    run = command("run", _run, "run the agent on a config file")
    run.add_argument("config", type=Path)

    check = command("check", _check, "validate a config file without starting anything")
    check.add_argument("config", type=Path)

    plan = command("plan", _plan, "print the Modbus requests a config will issue every cycle")
    plan.add_argument("config", type=Path)

    command("schema", _schema, "print the config's JSON Schema (for editor autocompletion)")

    export = command("export-aas", _export_aas, "print the asset's Asset Administration Shell (AAS V3)")
    export.add_argument("config", type=Path)
    export.add_argument("--format", choices=["json", "aasx"], default="json", dest="export_format")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")

    from edge_agent.demo import DEMO_CONFIG

    demo = command("demo", _demo, "run the agent against a simulated pump and panel")
    demo.add_argument("--config", type=Path, default=DEMO_CONFIG, help="demo config (default: bundled)")
    demo.add_argument(
        "--endpoint", help="OPC UA endpoint, default from the config (opc.tcp://127.0.0.1:4840)"
    )
    demo.add_argument("--modbus-port", type=int, help="port of the simulated pump (0: any free port)")
    demo.add_argument(
        "--aas-api-port", type=int, help="port of the shell's HTTP API, default from the config (0: any)"
    )
    demo.add_argument("--state-dir", type=Path, help="where the demo keeps its PKI")
    demo.add_argument("--fault", action="store_true", help="start with the bearing fault switched on")
    demo.add_argument("--seed", type=int, help="seed of the pump simulator's noise")
    sparkplug = commands.add_parser("sparkplug", help="look at a Sparkplug B broker")
    sparkplug_commands = sparkplug.add_subparsers(dest="sparkplug_command", required=True)
    watch = sparkplug_commands.add_parser(
        "watch", help="print every Sparkplug message on a broker, one line each, with metric names"
    )
    watch.set_defaults(handler=_sparkplug_watch)
    watch.add_argument("url", help="the broker: mqtts://HOST[:PORT] or mqtt://HOST[:PORT]")
    watch.add_argument("--group", help="only this Sparkplug group (and every host's STATE)")
    watch.add_argument("--count", type=int, help="stop after this many messages")
    watch.add_argument("--json", action="store_true", help="one JSON object per line")
    watch.add_argument(
        "--pki",
        type=Path,
        help="PKI store with the client certificate for mqtts:// (default /var/lib/edge-agent/pki)",
    )
    watch.add_argument(
        "--ca", type=Path, help="CA certificate (file or directory) the broker's must chain to"
    )
    watch.add_argument("--certificate", type=Path, help="client certificate, instead of the PKI store's")
    watch.add_argument("--private-key", type=Path, help="its private key (PEM)")
    service = command(
        "install-service",
        _install_service,
        "install the systemd service, its user and directories, a default config",
    )
    service.add_argument("--root", type=Path, help="install into this directory (an image) instead of /")
    service.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    service.add_argument(
        "--config", type=Path, help="the config to install when there is none (default: a minimal one)"
    )
    return parser


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    path = args.config
    config = load_config(path)
    tags = len(config.tag_infos())
    print(f"{path}: OK ({len(config.sources)} sources, {tags} tags, {len(config.models)} models)")
    if config.models:
        from edge_agent.inference.backend import install_advice, installed_backends

        if not installed_backends():
            print(
                f"{path}: warning: no TFLite interpreter is installed, so its models would be refused: "
                f"{install_advice()}",
                file=sys.stderr,
            )
    return EXIT_OK


def _plan(args: argparse.Namespace) -> int:
    from drivers.modbus.config import ModbusSourceConfig
    from drivers.modbus.plan import describe_plan

    path = args.config
    config = load_config(path)
    modbus = [source for source in config.sources if isinstance(source, ModbusSourceConfig)]
    if not modbus:
        print(f"{path}: no Modbus sources")
    for source in modbus:
        print(describe_plan(source))
    return EXIT_OK


def _export_aas(args: argparse.Namespace) -> int:
    from edge_agent.aas import build_environment, describe_models, to_json, verify, write_aasx
    from edge_agent.identity import PkiLayout

    export_format: str = args.export_format
    output: Path | None = args.output
    config = load_config(args.config)
    certificate = PkiLayout(config.opcua.pki).own_certificate
    der = certificate.read_bytes() if certificate.is_file() else None
    environment = build_environment(config, certificate_der=der, model_info=describe_models(config))
    for problem in verify(environment):
        log.warning("the shell breaks an AAS constraint: %s", problem)
    if export_format == "json":
        text = to_json(environment) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
        return EXIT_OK
    if output is None:
        if sys.stdout.isatty():
            print("an AASX package is binary: give -o FILE or redirect the output", file=sys.stderr)
            return EXIT_FAILURE
        sys.stdout.flush()
        write_aasx(environment, sys.stdout.buffer)
        return EXIT_OK
    with output.open("wb") as file:
        write_aasx(environment, file)
    return EXIT_OK


def _queue_early_hups() -> Callable[[], bool]:
    """Remember a SIGHUP that arrives while the agent is still starting (its default would kill it)."""
    received: list[int] = []
    signal.signal(signal.SIGHUP, lambda signum, _frame: received.append(signum))
    return lambda: bool(received)


def _run(args: argparse.Namespace) -> int:
    path = args.config
    hup_before_start = _queue_early_hups()
    # A hung agent that systemd's watchdog aborts (SIGABRT) leaves every thread's stack in the journal.
    with contextlib.suppress(OSError, ValueError, RuntimeError):  # a stderr without a file descriptor
        faulthandler.enable()
    log.info("starting with %s", path)
    from edge_agent.runtime.supervisor import Supervisor
    from edge_agent.runtime.systemd_notify import SystemdService

    def ready(runtime: AgentRuntime) -> None:
        log.info("ready: %s", runtime.status())

    from edge_agent.identity import IdentityError

    service = SystemdService.from_environment()
    supervisor = Supervisor(path, on_ready=ready, hup_before_start=hup_before_start, service=service)
    try:
        asyncio.run(supervisor.run())
    except IdentityError as exc:
        # The device's certificate cannot be used (expired, not its key ...): the message says what to do.
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE
    return EXIT_OK


def _install_service(args: argparse.Namespace) -> int:
    from edge_agent.service.install import install_service

    if args.config is not None:
        load_config(args.config)  # a config that would not start is refused before anything is installed
    try:
        install_service(root=args.root, dry_run=args.dry_run, config=args.config)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"install-service failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _sparkplug_watch(args: argparse.Namespace) -> int:
    from edge_agent.sparkplug.watch import WatchError, WatchOptions, WatchTls, quiet_adapter_log, watch

    count: int | None = args.count
    if count is not None and count < 1:
        print("--count must be 1 or more", file=sys.stderr)
        return EXIT_CONFIG
    tls = WatchTls(args.pki, args.ca, args.certificate, args.private_key)
    options = WatchOptions(args.url, args.group, count, args.json, tls)
    quiet_adapter_log()

    def emit(line: str) -> None:
        print(line, flush=True)

    try:
        asyncio.run(watch(options, emit))
    except WatchError as error:
        print(f"sparkplug watch: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader (head, grep -m) has had enough; nothing more is owed to it.
        with contextlib.suppress(OSError):
            sys.stdout.close()
        return EXIT_OK
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from edge_agent.demo.runner import DemoOptions, run_demo

    options = DemoOptions(
        config_path=args.config,
        endpoint=args.endpoint,
        modbus_port=args.modbus_port,
        aas_api_port=args.aas_api_port,
        state_dir=args.state_dir,
        bearing_fault=args.fault,
        seed=args.seed,
    )
    asyncio.run(run_demo(options))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log_format = setup_logging(args.log_level, args.log_format)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print_error(str(exc), log_format)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
