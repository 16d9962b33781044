"""Train the bundled pump state classifier on the simulated pump and export it as TensorFlow Lite.

    pip install -e '.[train]'
    python models/train_pump_state.py          # writes models/pump_state.tflite and .card.yaml

The model tells what the pump is doing from the same 4 s window of five signals as the anomaly model:
off, normal running, cavitation (pressure and flow drop, the pressure fluctuates, broadband vibration)
or a bearing fault (vibration with impacts, a hotter motor). It is a small dense network ending in a
softmax over the four states; its inputs are scaled to 0..1 with the min/max of the training data.
Everything is seeded: the same seed and TensorFlow version give the same model.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from edge_agent.simulator.pump import PumpSimulator
from models.train_pump_anomaly import FEATURES, SAMPLE_PERIOD_S, SETPOINT_RANGE_RPM, WINDOW, sample
from models.training import (
    as_printed,
    card_floats,
    export_tflite,
    parse_arguments,
    seed_everything,
    tflite_outputs,
    write_model,
)

MODEL_NAME = "pump_state"
MODEL_VERSION = "1.0.0"
DEFAULT_SEED = 4242
CLASSES = ("off", "normal", "cavitation", "bearing_fault")

RUNS = {"train": 160, "validation": 30, "test": 40}
RUN_S = 600.0
# Each run is a sequence of episodes in one state, as an operator and a wearing pump would produce them.
EPISODE_S = (20.0, 120.0)
EPISODE_WEIGHTS = {"off": 0.2, "normal": 0.4, "cavitation": 0.2, "bearing_fault": 0.2}
# Training windows end two samples apart; test windows end at every sample, as the agent sees them.
TRAIN_STRIDE = 2
# A window counts as settled when the state has not changed for this many samples (8 s): by then a
# new state fills the window and has developed (a bearing fault heats the motor over ~10 s).
SETTLED_SAMPLES = 32


@dataclass(frozen=True)
class LabelledRun:
    samples: np.ndarray  # [n, features]
    labels: np.ndarray  # [n] index into CLASSES: the state the pump was put in at that sample


def set_state(pump: PumpSimulator, state: str, events: random.Random) -> None:
    pump.running = state != "off"
    pump.bearing_fault = state == "bearing_fault"
    pump.cavitation = state == "cavitation"
    if state == "normal":
        pump.speed_setpoint = events.uniform(*SETPOINT_RANGE_RPM)


def simulate_run(seed: int, duration_s: float) -> LabelledRun:
    """A warm pump going through episodes of the four states, each 20-120 s long."""
    events = random.Random(seed)
    pump = PumpSimulator(seed)
    pump.speed_setpoint = events.uniform(*SETPOINT_RANGE_RPM)
    pump.step(1200.0)
    states, weights = list(EPISODE_WEIGHTS), list(EPISODE_WEIGHTS.values())
    state, next_change_s = "normal", events.uniform(*EPISODE_S)
    samples, labels = [], []
    for step in range(round(duration_s / SAMPLE_PERIOD_S)):
        now = step * SAMPLE_PERIOD_S
        if now >= next_change_s:
            state = events.choices(states, weights)[0]
            set_state(pump, state, events)
            next_change_s = now + events.uniform(*EPISODE_S)
        samples.append(sample(pump))
        labels.append(CLASSES.index(state))
    return LabelledRun(np.asarray(samples, dtype=np.float32), np.asarray(labels, dtype=np.int32))


@dataclass(frozen=True)
class Windows:
    x: np.ndarray  # [m, WINDOW, features]
    y: np.ndarray  # [m] the label of each window's newest sample
    settled: np.ndarray  # [m] whether the state had not changed for SETTLED_SAMPLES samples


def labelled_windows(runs: list[LabelledRun], stride: int) -> Windows:
    xs, ys, settled = [], [], []
    for run in runs:
        ends = np.arange(WINDOW, len(run.samples) + 1, stride)
        xs.append(np.stack([run.samples[end - WINDOW : end] for end in ends]))
        ys.append(run.labels[ends - 1])
        settled.append(
            np.asarray(
                [
                    end >= SETTLED_SAMPLES
                    and np.all(run.labels[end - SETTLED_SAMPLES : end] == run.labels[end - 1])
                    for end in ends
                ]
            )
        )
    return Windows(np.concatenate(xs), np.concatenate(ys), np.concatenate(settled))


def build_classifier() -> tf.keras.Model:
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(WINDOW * len(FEATURES),)),
            tf.keras.layers.Dense(32, activation="relu"),
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(len(CLASSES), activation="softmax"),
        ]
    )


class StateClassifier(tf.Module):
    """The exported graph: one scaled window in, the probability of each state out.

    The trained weights are baked in as constants, so the converter sees a plain feed-forward graph.
    """

    def __init__(self, classifier: tf.keras.Model) -> None:
        super().__init__()
        self.layers = [
            (tf.constant(kernel), tf.constant(bias), layer.get_config()["activation"])
            for layer in classifier.layers
            for kernel, bias in [layer.get_weights()]
        ]

    @tf.function(input_signature=[tf.TensorSpec([1, WINDOW, len(FEATURES)], tf.float32, name="window")])
    def __call__(self, window: tf.Tensor) -> dict[str, tf.Tensor]:
        hidden = tf.reshape(window, [1, WINDOW * len(FEATURES)])
        for kernel, bias, activation in self.layers:
            hidden = tf.matmul(hidden, kernel) + bias
            hidden = tf.nn.relu(hidden) if activation == "relu" else tf.nn.softmax(hidden)
        return {"pump_state": hidden}


def card_text(
    *, sha256: str, seed: int, low: np.ndarray, high: np.ndarray, data: str, metrics: dict[str, float]
) -> str:
    lines = "\n".join(f"  {name}: {value:.4f}" for name, value in metrics.items())
    low_rpm, high_rpm = SETPOINT_RANGE_RPM
    classes = ", ".join(CLASSES)
    return f"""\
# Model card, written by models/train_pump_state.py: retrain rather than edit.
name: {MODEL_NAME}
version: {MODEL_VERSION}
description: >-
  What a centrifugal pump is doing, from a 4 s window of five signals: off, normal running,
  cavitation or a bearing fault. A dense network (80-32-16-4) ending in a softmax. Trained on the
  simulated pump (edge_agent.simulator) running at {low_rpm:.0f}-{high_rpm:.0f} rpm, stopped, cavitating
  and with a failing bearing, in episodes of {EPISODE_S[0]:.0f}-{EPISODE_S[1]:.0f} s.
file: {MODEL_NAME}.tflite
sha256: {sha256}
every: {SAMPLE_PERIOD_S * 1000:.0f}ms   # the sample period it was trained on
inputs:
  tags: [{", ".join(FEATURES)}]
  units: [degC, mm/s, bar, m3/h, rpm]
  window: {WINDOW}
  dtype: float32
  shape: [1, {WINDOW}, {len(FEATURES)}]   # [batch, sample (oldest first), tag in the order above]
normalize:   # applied by the agent before the model: x_norm = (x - min) / (max - min), per tag
  min: {card_floats(low)}
  max: {card_floats(high)}
outputs:
  - {{name: pump_state, classes: [{classes}], output: 0, shape: [1, {len(CLASSES)}], dtype: float32}}
training:
  script: models/train_pump_state.py
  seed: {seed}
  data: {data}
  tensorflow: {tf.__version__}
metrics:   # on the held-out test runs, every window the agent would see (transitions included)
{lines}
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, argv, seed=DEFAULT_SEED, epochs=30)
    seed_everything(args.seed)
    run_seeds = random.Random(args.seed)

    started = time.monotonic()
    runs = {
        split: [simulate_run(run_seeds.getrandbits(32), RUN_S) for _ in range(count)]
        for split, count in RUNS.items()
    }
    print(f"simulated {sum(len(r.samples) for rs in runs.values() for r in rs)} samples")

    train_samples = np.concatenate([run.samples for run in runs["train"]])
    low, high = as_printed(train_samples.min(axis=0)), as_printed(train_samples.max(axis=0))

    def scaled(x: np.ndarray) -> np.ndarray:
        return ((x - low) / (high - low)).astype(np.float32)

    train = labelled_windows(runs["train"], TRAIN_STRIDE)
    validation = labelled_windows(runs["validation"], TRAIN_STRIDE)
    test = labelled_windows(runs["test"], 1)

    classifier = build_classifier()
    classifier.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    classifier.fit(
        scaled(train.x).reshape(len(train.x), -1),
        train.y,
        validation_data=(scaled(validation.x).reshape(len(validation.x), -1), validation.y),
        epochs=args.epochs,
        batch_size=256,
        shuffle=True,
        verbose=2,
    )

    model = export_tflite(StateClassifier(classifier))
    sha256 = hashlib.sha256(model).hexdigest()
    probabilities = tflite_outputs(model, scaled(test.x))
    # The exported graph must compute what the trained model does.
    keras_probabilities = classifier.predict(scaled(test.x).reshape(len(test.x), -1), batch_size=4096)
    np.testing.assert_allclose(probabilities, keras_probabilities, atol=1e-4)
    predicted = probabilities.argmax(axis=1)
    metrics = {
        "test_accuracy": float(np.mean(predicted == test.y)),
        "test_accuracy_settled": float(np.mean(predicted[test.settled] == test.y[test.settled])),
    }
    for index, name in enumerate(CLASSES):
        metrics[f"test_recall_{name}"] = float(np.mean(predicted[test.y == index] == index))

    splits = ", ".join(f"{count} {split}" for split, count in RUNS.items())
    data = f"{sum(RUNS.values())} simulated runs of {RUN_S:.0f} s ({splits})"
    card = card_text(sha256=sha256, seed=args.seed, low=low, high=high, data=data, metrics=metrics)
    write_model(
        args.output_dir, MODEL_NAME, model, card, started=started, metrics=metrics, metric_format=".4f"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
