"""The service's files in this repository, and the smallest config the agent serves as a service."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent.parent
SYSTEMD = REPOSITORY / "systemd"
UNIT = SYSTEMD / "edge-agent.service"

CONFIG = """\
asset:
  id: urn:example:aas:notify-test
  global_asset_id: urn:example:asset:notify-test
opcua:
  endpoint: opc.tcp://127.0.0.1:{port}
  pki: {pki}
  insecure: {{none_policy: true, anonymous_read: true}}
"""
"""A config that serves nothing but the OPC UA server; fill in with ``.format(port=..., pki=...)``."""
