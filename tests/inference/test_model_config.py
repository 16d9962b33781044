"""The `models:` entries as a plant engineer writes them, completed from model cards, with located errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent

import pytest

from edge_agent.agent_config import load_config_text
from edge_agent.config import ConfigError, ModelConfig
from models import MODELS_DIR

HEADER = """\
asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
sources:
  - name: plc
    driver: modbus
    host: 192.168.10.20
    points:
      - {name: motor_temperature, kind: input, address: 0, type: float32}
      - {name: vibration_rms, kind: input, address: 2}
      - {name: discharge_pressure, kind: input, address: 3}
      - {name: flow_rate, kind: input, address: 4}
      - {name: motor_speed, kind: input, address: 5}
"""


def problems(models: str, config_dir: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(HEADER + dedent(models), "plant.yaml", base_dir=config_dir)
    return [str(problem) for problem in caught.value.problems]


def test_a_bundled_model_needs_only_its_name_and_file() -> None:
    config = load_config_text(HEADER + "models: [{name: pump_health, file: pump_anomaly.tflite}]\n")
    model = config.models[0]
    assert model.every == 0.25
    assert model.input_tags[:2] == ["motor_temperature", "vibration_rms"]
    assert [info.name for info in model.tag_infos()] == [
        "anomaly_score",
        "anomaly",
        "pump_health_invocations",
        "pump_health_latency_mean_ms",
        "pump_health_latency_p99_ms",
        "pump_health_overruns",
    ]
    assert model.origins == {
        "sha256": "model card",
        "every": "model card",
        "num_threads": "default",
        "inputs": "model card",
        "normalize": "model card",
        "outputs": "model card",
    }


def test_a_classifier_publishes_its_label_as_text_and_its_probability() -> None:
    config = load_config_text(HEADER + "models: [{name: pump, file: pump_state.tflite}]\n")
    kinds = {info.name: info.data_type for info in config.models[0].tag_infos()}
    assert kinds["pump_state"] == "string"
    assert kinds["pump_state_probability"] == "float"


def test_a_mistake_in_a_model_card_is_reported_at_the_file_naming_the_card(tmp_path: Path) -> None:
    shutil.copy(MODELS_DIR / "pump_anomaly.tflite", tmp_path / "health.tflite")
    card = (MODELS_DIR / "pump_anomaly.card.yaml").read_text().replace("window: 16", "window: 5000")
    (tmp_path / "health.card.yaml").write_text(card)
    found = problems(
        """\
        models:
          - name: pump_health
            file: health.tflite
        """,
        tmp_path,
    )
    assert found == [
        "plant.yaml:14:5: models[0].file: its model card health.card.yaml says inputs.window: "
        "must be at most 4096 (got 5000)"
    ]


def test_an_unknown_key_in_a_model_card_suggests_the_known_one(tmp_path: Path) -> None:
    shutil.copy(MODELS_DIR / "pump_state.tflite", tmp_path / "state.tflite")
    card = (MODELS_DIR / "pump_state.card.yaml").read_text().replace("classes:", "clases:")
    (tmp_path / "state.card.yaml").write_text(card)
    found = problems("models: [{name: state, file: state.tflite}]\n", tmp_path)
    assert len(found) == 1
    assert "its model card state.card.yaml says outputs[0].clases: unknown key 'clases'" in found[0]


def test_an_unreadable_model_card_is_a_config_error_at_the_file(tmp_path: Path) -> None:
    shutil.copy(MODELS_DIR / "pump_anomaly.tflite", tmp_path / "health.tflite")
    (tmp_path / "health.card.yaml").write_text("- just\n- a list\n")
    found = problems("models: [{name: h, file: health.tflite}]\n", tmp_path)
    assert len(found) == 1
    assert found[0].startswith("plant.yaml:12:")
    assert "models[0].file: its model card" in found[0]
    assert "must be a mapping" in found[0]


def test_a_card_cannot_declare_a_tag_another_entry_already_has() -> None:
    found = problems(
        """\
        models:
          - name: pump_health
            file: pump_anomaly.tflite
            outputs: [{name: pump_health_overruns}]
        """
    )
    assert found == [
        "plant.yaml:13:5: models[0].name: tag 'pump_health_overruns' (a statistic of model 'pump_health') "
        "is already defined at line 15"
    ]


def test_min_and_max_must_be_ordered() -> None:
    found = problems(
        """\
        models:
          - name: m
            file: pump_anomaly.tflite
            normalize: {min: [0, 0, 0, 0, 0], max: [1, 1, 0, 1, 1]}
        """
    )
    assert found == ["plant.yaml:15:51: models[0].normalize.max[2]: must be greater than min (0) (got 0)"]


def test_a_classifier_lists_each_class_once() -> None:
    found = problems(
        """\
        models:
          - name: m
            file: pump_state.tflite
            outputs: [{name: state, classes: [off, on, off]}]
        """
    )
    assert found == ["plant.yaml:15:48: models[0].outputs[0].classes[2]: class 'off' is listed twice"]


def test_a_model_name_leaves_room_for_its_statistics_tags() -> None:
    found = problems(f"models: [{{name: {'m' * 49}, file: pump_anomaly.tflite}}]\n")
    assert len(found) == 1
    assert "models[0].name: must be at most 48 characters long" in found[0]


def test_several_input_tensors_are_a_list_of_tag_windows() -> None:
    model = ModelConfig.model_validate(
        {
            "name": "m",
            "file": "pump_anomaly.tflite",
            "inputs": [
                {"tags": ["motor_temperature", "vibration_rms"], "window": 16},
                {"tags": ["motor_speed"]},
            ],
            "outputs": [{"name": "s"}],
        }
    )
    assert [group.window for group in model.input_groups] == [16, 1]
    assert model.input_tags == ["motor_temperature", "vibration_rms", "motor_speed"]
    assert model.input_tag_paths()[2] == ("motor_speed", ("inputs", 1, "tags", 0))
