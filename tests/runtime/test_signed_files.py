"""The agent under `policy require-signed on`: unsigned or tampered configs and models are refused."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge_agent.agent_config import load_config
from edge_agent.config import BUNDLED_MODELS, ConfigError
from edge_agent.identity import PkiLayout
from edge_agent.identity.signatures import PKI_ENVIRONMENT, signature_file
from edge_agent.runtime.agent import AgentRuntime
from edge_agent.runtime.supervisor import Supervisor
from provisioning import signing, trust
from tests.provisioning.steps import make_ca
from tests.support.ports import free_port
from tests.support.waiting import eventually

CONFIG = """\
asset:
  id: urn:example:aas:test-pump
  global_asset_id: urn:example:asset:test-pump
  nameplate:
    manufacturer_name: ACME Pumpen GmbH
    product_designation: Test pump
    serial_number: "T-1"
opcua:
  endpoint: opc.tcp://127.0.0.1:{port}
  pki: pki
sources:
  - name: panel
    driver: gpio
    pin_factory: mock
    points:
      - {{ name: c1, kind: counter, pin: GPIO5 }}
      - {{ name: c2, kind: counter, pin: GPIO6 }}
      - {{ name: c3, kind: counter, pin: GPIO13 }}
models:{models}"""
MODEL = """\
  - name: {name}
    file: {name}.tflite
    every: 100ms
    {inputs}
    outputs:
      - {{ name: {name}_score, index: 0 }}
"""

INPUTS = "inputs: { tags: [c1, c1_rate, c2, c2_rate, c3], window: 16 }"


@dataclass
class Device:
    """A device directory: its config, models and a PKI that requires files signed by the site's signer."""

    directory: Path
    signer: signing.Signer

    @property
    def config(self) -> Path:
        return self.directory / "config.yaml"

    @property
    def pki(self) -> PkiLayout:
        return PkiLayout(self.directory / "pki")

    def write_config(self, *models: str) -> Path:
        entries = "".join(MODEL.format(name=name, inputs=INPUTS) for name in models)
        text = CONFIG.format(port=free_port(), models=f"\n{entries}" if entries else " []\n")
        self.config.write_text(text, encoding="utf-8")
        for name in models:
            shutil.copyfile(BUNDLED_MODELS / "pump_anomaly.tflite", self.directory / f"{name}.tflite")
        return self.config

    def sign(self, *paths: Path) -> None:
        signing.sign_files(paths, self.signer)


@pytest.fixture
def device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Device:
    ca = make_ca(tmp_path / "ca")
    issued = signing.issue_signer(ca, "Line 3 release", tmp_path / "signer")
    signer = signing.load_signer(issued.files.key, issued.files.certificate)
    directory = tmp_path / "device"
    directory.mkdir()
    layout = PkiLayout(directory / "pki")
    layout.ensure()
    trust.add(layout, ca.certificate, "signer")
    signing.require_signed(layout, on=True)
    monkeypatch.setenv(PKI_ENVIRONMENT, str(layout.root))
    return Device(directory, signer)


@asynccontextmanager
async def serving(config: Path) -> AsyncIterator[Supervisor]:
    """The agent in-process on ``config``, once it serves."""
    ready: list[AgentRuntime] = []
    supervisor = Supervisor(config, on_ready=ready.append)
    task = asyncio.create_task(supervisor.run())
    try:
        await eventually(lambda: bool(ready) or task.done(), within=30)
        assert not task.done(), task.exception()
        yield supervisor
    finally:
        supervisor.request_stop()
        await task


def test_the_agent_does_not_start_on_an_unsigned_config(device: Device) -> None:
    config = device.write_config()

    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, PKI_ENVIRONMENT: str(device.pki.root)},
    )

    assert result.returncode == 2
    assert f"{config}: not signed: config.yaml.sig is missing" in result.stderr


def test_a_config_changed_after_signing_is_refused_before_it_is_parsed(device: Device) -> None:
    config = device.write_config()
    device.sign(config)
    config.write_text(config.read_text() + "sources: [not, a, config\n", encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        load_config(config)

    (problem,) = refused.value.problems
    assert "it was changed after it was signed" in problem.message


@pytest.fixture
async def serving_signed(device: Device) -> AsyncIterator[Supervisor]:
    device.sign(device.write_config())
    async with serving(device.config) as supervisor:
        yield supervisor


async def test_a_reload_of_a_tampered_config_is_refused_and_the_running_config_stays(
    device: Device, serving_signed: Supervisor
) -> None:
    supervisor = serving_signed
    before = supervisor.runtime
    device.config.write_text(device.config.read_text().replace("T-1", "T-2"), encoding="utf-8")

    accepted, message = await supervisor.check_and_reload()
    reloaded = await supervisor.reload()

    assert (accepted, reloaded) == (False, False)
    assert f"{device.config}: the content does not match its signature" in message
    assert supervisor.runtime is before and supervisor.reloads == 0


async def test_a_config_signed_again_after_the_change_is_reloaded(
    device: Device, serving_signed: Supervisor
) -> None:
    supervisor = serving_signed
    device.config.write_text(device.config.read_text().replace("T-1", "T-2"), encoding="utf-8")
    device.sign(device.config)

    assert await supervisor.reload()

    assert supervisor.runtime is not None
    assert supervisor.runtime.config.asset.nameplate.serial_number == "T-2"  # type: ignore[union-attr]


@pytest.mark.parametrize("fault", ["unsigned", "tampered"])
async def test_a_model_without_a_valid_signature_is_refused_and_the_other_runs(
    device: Device, fault: str
) -> None:
    config = device.write_config("good", "bad")
    device.sign(config, device.directory / "good.tflite")
    if fault == "tampered":
        device.sign(device.directory / "bad.tflite")
        with (device.directory / "bad.tflite").open("ab") as model:
            model.write(b"\0")
    async with serving(config) as supervisor:
        assert supervisor.runtime is not None
        good, bad = supervisor.runtime.pipelines
        await eventually(lambda: good.invocations > 0, within=10)

    assert bad.model is None and bad.refusal is not None
    expected = (
        "not signed: bad.tflite.sig is missing" if fault == "unsigned" else "changed after it was signed"
    )
    assert bad.refusal.startswith("bad.tflite: ") and expected in bad.refusal
    assert bad.statistics()["state"] == "refused"


def test_an_unsigned_model_card_refuses_the_config(device: Device) -> None:
    config = device.write_config()
    config.write_text(
        config.read_text().replace(
            "models: []", f"models:\n  - {{ name: pump, file: pump_anomaly.tflite, {INPUTS} }}"
        ),
        encoding="utf-8",
    )
    for name in ("pump_anomaly.tflite", "pump_anomaly.card.yaml"):
        shutil.copyfile(BUNDLED_MODELS / name, device.directory / name)
    device.sign(config, device.directory / "pump_anomaly.tflite")

    with pytest.raises(ConfigError) as refused:
        load_config(config)

    (problem,) = refused.value.problems
    assert problem.path == "models[0]"
    assert f"model card {device.directory / 'pump_anomaly.card.yaml'}: not signed" in problem.message


def test_without_the_marker_unsigned_files_are_used(device: Device) -> None:
    config = device.write_config("good")
    signing.require_signed(device.pki, on=False)

    assert [model.name for model in load_config(config).models] == ["good"]
    assert not signature_file(config).exists()


def test_a_marker_in_a_pki_the_agent_does_not_take_its_policy_from_is_not_ignored(
    device: Device, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = device.write_config()
    monkeypatch.setenv(PKI_ENVIRONMENT, str(tmp_path / "elsewhere"))

    with pytest.raises(ConfigError) as refused:
        load_config(config)

    (problem,) = refused.value.problems
    assert problem.path == "opcua.pki"
    assert f"set {PKI_ENVIRONMENT}={device.pki.root}" in problem.message
