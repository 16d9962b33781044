"""The bundled pump anomaly model, run by the agent's own TFLite runtime on the simulated pump."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from ruamel.yaml import YAML

from edge_agent.inference.backend import interpreter_class
from edge_agent.simulator import PumpSimulator
from models import MODELS_DIR, bundled

# The raw interpreter the agent would use here, imported the way it imports it (keeping the process's
# floating-point mode): tflite-runtime on Python 3.11, ai-edge-litert on 3.13 (the arm64 check's Trixie).
_, Interpreter = interpreter_class()

MODEL = "pump_anomaly.tflite"
CARD = "pump_anomaly.card.yaml"


@pytest.fixture(scope="module")
def card() -> dict[str, Any]:
    return YAML(typ="safe").load(bundled(CARD))


@pytest.fixture(scope="module")
def interpreter() -> Interpreter:
    model = Interpreter(model_path=str(bundled(MODEL)))
    model.allocate_tensors()
    return model


class Scorer:
    """Feeds a pump's readings to the model the way the agent does: normalised windows, oldest first."""

    def __init__(self, interpreter: Interpreter, card: dict[str, Any]) -> None:
        self.interpreter = interpreter
        self.tags: list[str] = card["inputs"]["tags"]
        self.window: int = card["inputs"]["window"]
        self.period_s = float(card["every"].removesuffix("ms")) / 1000
        self.mean = np.asarray(card["normalize"]["mean"], dtype=np.float32)
        self.std = np.asarray(card["normalize"]["std"], dtype=np.float32)
        self.samples: deque[list[float]] = deque(maxlen=self.window)

    def scores(self, pump: PumpSimulator, seconds: float) -> Iterator[float]:
        """Step the pump for ``seconds`` and yield a score after every sample once the window is full."""
        for _ in range(round(seconds / self.period_s)):
            state = pump.step(self.period_s)
            self.samples.append([getattr(state, tag) for tag in self.tags])
            if len(self.samples) == self.window:
                yield self.score()

    def score(self) -> float:
        window = (np.asarray(self.samples, dtype=np.float32) - self.mean) / self.std
        (window_input,) = self.interpreter.get_input_details()
        (score_output,) = self.interpreter.get_output_details()
        self.interpreter.set_tensor(window_input["index"], window[np.newaxis])
        self.interpreter.invoke()
        return float(self.interpreter.get_tensor(score_output["index"])[0, 0])


@pytest.fixture
def scorer(interpreter: Interpreter, card: dict[str, Any]) -> Scorer:
    return Scorer(interpreter, card)


def test_the_card_names_the_bundled_file_by_its_sha256(card: dict[str, Any]) -> None:
    model = bundled(card["file"])
    assert model.name == MODEL
    assert hashlib.sha256(model.read_bytes()).hexdigest() == card["sha256"]


def test_the_model_is_small() -> None:
    assert bundled(MODEL).stat().st_size < 100_000


def test_the_model_takes_and_gives_what_the_card_says(interpreter: Interpreter, card: dict[str, Any]) -> None:
    (window_input,) = interpreter.get_input_details()
    outputs = interpreter.get_output_details()

    assert list(window_input["shape"]) == card["inputs"]["shape"]
    assert window_input["dtype"] == np.dtype(card["inputs"]["dtype"])
    assert card["inputs"]["shape"] == [1, card["inputs"]["window"], len(card["inputs"]["tags"])]
    assert len(card["normalize"]["mean"]) == len(card["normalize"]["std"]) == len(card["inputs"]["tags"])
    scores = [declared for declared in card["outputs"] if "from" not in declared]
    assert len(outputs) == len(scores)
    for declared in scores:
        output = outputs[declared["index"]]
        assert list(output["shape"]) == declared["shape"]
        assert output["dtype"] == np.dtype(declared["dtype"])


def test_the_card_reads_the_pump_tags_in_model_order(card: dict[str, Any]) -> None:
    assert card["inputs"]["tags"] == [
        "motor_temperature",
        "vibration_rms",
        "discharge_pressure",
        "flow_rate",
        "motor_speed",
    ]
    assert card["every"] == "250ms"
    assert card["outputs"][1] == {
        "name": "anomaly",
        "from": "anomaly_score",
        "above": 1.0,
        "clear_below": 0.7,
    }


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_a_healthy_pump_stays_below_the_threshold(scorer: Scorer, seed: int) -> None:
    pump = PumpSimulator(seed)
    pump.step(600.0)
    scores = list(scorer.scores(pump, 60))
    pump.speed_setpoint = 2500
    scores += scorer.scores(pump, 60)
    pump.running = False
    scores += scorer.scores(pump, 30)
    pump.running = True
    scores += scorer.scores(pump, 60)

    assert max(scores) < 1.0


@pytest.mark.parametrize(("seed", "setpoint"), [(11, 2900), (12, 2450), (13, 3000)])
def test_a_developed_bearing_fault_scores_well_above_the_threshold(
    scorer: Scorer, seed: int, setpoint: float
) -> None:
    pump = PumpSimulator(seed)
    pump.speed_setpoint = setpoint
    pump.step(600.0)
    healthy = list(scorer.scores(pump, 30))
    pump.bearing_fault = True
    list(scorer.scores(pump, 10))
    developed = list(scorer.scores(pump, 30))

    assert max(healthy) < 1.0
    assert min(developed) > 3.0


def test_a_repaired_pump_clears_the_alarm(scorer: Scorer) -> None:
    pump = PumpSimulator(21)
    pump.step(600.0)
    pump.bearing_fault = True
    list(scorer.scores(pump, 40))
    pump.bearing_fault = False
    list(scorer.scores(pump, 180))
    settled = list(scorer.scores(pump, 30))

    assert max(settled) < 0.7


def test_bundled_finds_only_plain_file_names_in_the_models_folder() -> None:
    assert bundled(MODEL) == MODELS_DIR / MODEL
    with pytest.raises(FileNotFoundError):
        bundled("no_such_model.tflite")
    for name in ("../setup.cfg", "/etc/passwd", "", ".."):
        with pytest.raises(ValueError):
            bundled(name)
