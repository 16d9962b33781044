"""The AAS facts the rooms build shells from: a full config, values and model facts for it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edge_agent.agent_config import AgentConfig, load_config_text

ISSUED = datetime(2025, 1, 10, tzinfo=UTC)
"""When the test certificate was made: it is valid from a day before for a year."""

FULL_CONFIG = """
asset:
  id: urn:example:aas:pump-17
  global_asset_id: urn:example:asset:pump-17
  nameplate:
    manufacturer_name: ACME Pumpen GmbH
    product_designation: Centrifugal pump CP-200
    serial_number: "CP200-4711"
    year_of_construction: 2024
    address: { street: Musterstraße 1, zip: "01234", city: Musterstadt, country: DE }
  technical_data:
    - { name: rated_power, value: 7.5, unit: kW, semantic_id: "0173-1#02-AAK235#006" }
    - { name: rated_speed, value: 2900, unit: rpm }
    - { name: explosion_proof, value: false }
    - { name: impeller_material, value: stainless steel, semantic_id: "0173-1#02-AAB543#005" }
opcua:
  endpoint: opc.tcp://127.0.0.1:4840
  application_uri: urn:example:edge-agent:pump-17
  pki: pki
sources:
  - name: pump_plc
    driver: modbus
    transport: tcp
    host: 127.0.0.1
    port: 5020
    unit: 1
    poll: 250ms
    points:
      - { name: motor_temperature, kind: input, address: 0, type: float32, unit: degC, range: [0, 150] }
      - { name: vibration_rms, kind: input, address: 2, type: uint16, scale: 0.01, unit: mm/s }
      - { name: discharge_pressure, kind: input, address: 3, type: uint16, scale: 0.01, unit: bar }
      - { name: flow_rate, kind: input, address: 4, type: uint16, scale: 0.1, unit: m3/h }
      - { name: motor_speed, kind: input, address: 5, type: uint16, unit: rpm, range: [0, 3600] }
      - { name: speed_setpoint, kind: holding, address: 1, type: uint16, unit: rpm, writable: true,
          range: [0, 3000], description: the speed the drive is asked to run at }
  - name: panel
    driver: gpio
    pin_factory: mock
    points:
      - { name: door_open, kind: input, pin: GPIO17, pull: up, active_low: true, debounce: 20ms }
      - { name: alarm_lamp, kind: output, pin: GPIO22, writable: true }
models:
  - name: pump_health
    file: pump_anomaly.tflite
    sha256: f93b55b822b5e8821b9a256c729e6d8a61903c7880721b239ea625ef4e25da55
    every: 250ms
    num_threads: 2
    inputs:
      tags: [motor_temperature, vibration_rms, discharge_pressure, flow_rate, motor_speed]
      window: 16
    normalize:
      mean: [51.1799, 1.51472, 3.24878, 34.7395, 2013.42]
      std: [7.88705, 0.85246, 1.97233, 20.5523, 1190.34]
    outputs:
      - { name: anomaly_score, index: 0 }
      - { name: anomaly, from: anomaly_score, above: 1.0, clear_below: 0.7 }
"""

FULL_VALUES: dict[str, object] = {
    "motor_temperature": 61.25,
    "vibration_rms": 1.52,
    "discharge_pressure": 3.25,
    "flow_rate": 118.4,
    "motor_speed": 2900,
    "speed_setpoint": 2950,
    "door_open": False,
    "alarm_lamp": True,
    "anomaly_score": 0.31,
    "anomaly": False,
}

FULL_MODEL_INFO = {
    "pump_health": {
        "version": "1.0.0",
        "description": "anomaly score of the pump",
        "latency_ms": {"p50": 0.8, "p99": 2.5, "mean": 0.9, "max": 4.0},
        "inferences": 1234,
    }
}


def load_full_config(base_dir: Path) -> AgentConfig:
    """FULL_CONFIG as the agent loads it, with ``base_dir`` as the directory of its file."""
    return load_config_text(FULL_CONFIG, "full.yaml", base_dir=base_dir)
