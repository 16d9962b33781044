"""Train the bundled pump anomaly model on the simulated pump and export it as TensorFlow Lite.

    pip install -e '.[train]'
    python models/train_pump_anomaly.py            # writes models/pump_anomaly.tflite and .card.yaml

The model is a small dense autoencoder over a window of 16 samples (250 ms apart) of five signals. Its
graph ends with the mean squared reconstruction error, scaled so that 1.0 is the alarm threshold: normal
running reconstructs well, a bearing fault (vibration and heat the model never saw) does not.
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
from models.training import (
    as_printed,
    card_floats,
    export_tflite,
    parse_arguments,
    seed_everything,
    tflite_outputs,
    write_model,
)

FEATURES = ("motor_temperature", "vibration_rms", "discharge_pressure", "flow_rate", "motor_speed")
WINDOW = 16
SAMPLE_PERIOD_S = 0.25
# Consecutive training windows start one second apart: overlapping, yet the data set stays small.
WINDOW_STRIDE = 4
SETPOINT_RANGE_RPM = (2400.0, 3000.0)

MODEL_NAME = "pump_anomaly"
MODEL_VERSION = "1.0.0"
DEFAULT_SEED = 1729
ALARM_ABOVE = 1.0
ALARM_CLEAR_BELOW = 0.7
HEALTHY_MARGIN = 2.0

NORMAL_RUNS = {"train": 120, "validation": 40, "test": 40}
NORMAL_RUN_S = 900.0
FAULT_RUNS = 40
FAULT_ONSET_S = 60.0
FAULT_LENGTH_S = 60.0
# A fault counts as developed this long after its onset; the card reports the scores from then on.
FAULT_DEVELOPED_S = 10.0


@dataclass(frozen=True)
class FaultRun:
    samples: np.ndarray  # [n, 5]
    onset: int  # index of the first sample with the fault switched on
    cleared: int  # index of the first sample with it switched off again


def sample(pump: PumpSimulator) -> list[float]:
    state = pump.step(SAMPLE_PERIOD_S)
    return [float(getattr(state, feature)) for feature in FEATURES]


def settled_pump(seed: int, setpoint: float) -> PumpSimulator:
    """A pump that has been running at ``setpoint`` long enough to be warm."""
    pump = PumpSimulator(seed)
    pump.speed_setpoint = setpoint
    pump.step(1200.0)
    return pump


def simulate_normal_run(seed: int, duration_s: float) -> np.ndarray:
    """Healthy operation with what an operator does: setpoint changes, stops and restarts."""
    events = random.Random(seed)
    pump = settled_pump(seed, events.uniform(*SETPOINT_RANGE_RPM))
    samples = []
    next_event_s = events.expovariate(1 / 120.0)
    for step in range(round(duration_s / SAMPLE_PERIOD_S)):
        now = step * SAMPLE_PERIOD_S
        if now >= next_event_s:
            if pump.running and events.random() < 0.7:
                pump.speed_setpoint = events.uniform(*SETPOINT_RANGE_RPM)
                next_event_s = now + events.expovariate(1 / 120.0)
            elif pump.running:
                pump.running = False
                next_event_s = now + events.uniform(5.0, 300.0)
            else:
                pump.running = True
                next_event_s = now + events.expovariate(1 / 120.0)
        samples.append(sample(pump))
    return np.asarray(samples, dtype=np.float32)


def simulate_fault_run(seed: int) -> FaultRun:
    """A warm pump that develops a bearing fault, keeps it for a minute, and has it repaired."""
    events = random.Random(seed)
    pump = settled_pump(seed, events.uniform(*SETPOINT_RANGE_RPM))
    onset = round(FAULT_ONSET_S / SAMPLE_PERIOD_S)
    cleared = onset + round(FAULT_LENGTH_S / SAMPLE_PERIOD_S)
    samples = []
    for step in range(cleared + round(120.0 / SAMPLE_PERIOD_S)):
        pump.bearing_fault = onset <= step < cleared
        samples.append(sample(pump))
    return FaultRun(np.asarray(samples, dtype=np.float32), onset, cleared)


def windows(samples: np.ndarray, stride: int = WINDOW_STRIDE) -> np.ndarray:
    """Windows [m, WINDOW, features], the first starting at sample 0."""
    starts = range(0, len(samples) - WINDOW + 1, stride)
    return np.stack([samples[start : start + WINDOW] for start in starts])


def build_autoencoder() -> tf.keras.Model:
    flat = WINDOW * len(FEATURES)
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(flat,)),
            tf.keras.layers.Dense(32, activation="relu"),
            tf.keras.layers.Dense(8),
            tf.keras.layers.Dense(32, activation="relu"),
            tf.keras.layers.Dense(flat),
        ]
    )


class AnomalyScorer(tf.Module):
    """The exported graph: one window in, its scaled reconstruction error out.

    The trained weights are baked in as constants, so the converter sees a plain feed-forward graph.
    """

    def __init__(self, autoencoder: tf.keras.Model, scale: float) -> None:
        super().__init__()
        self.layers = [
            (tf.constant(kernel), tf.constant(bias), layer.get_config()["activation"] == "relu")
            for layer in autoencoder.layers
            for kernel, bias in [layer.get_weights()]
        ]
        self.scale = tf.constant(scale, dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([1, WINDOW, len(FEATURES)], tf.float32, name="window")])
    def __call__(self, window: tf.Tensor) -> dict[str, tf.Tensor]:
        flat = tf.reshape(window, [1, WINDOW * len(FEATURES)])
        hidden = flat
        for kernel, bias, relu in self.layers:
            hidden = tf.matmul(hidden, kernel) + bias
            if relu:
                hidden = tf.nn.relu(hidden)
        error = tf.math.squared_difference(flat, hidden)
        return {"anomaly_score": tf.reduce_mean(error, axis=1, keepdims=True) * self.scale}


def raw_scores(autoencoder: tf.keras.Model, normalized: np.ndarray) -> np.ndarray:
    flat = normalized.reshape(len(normalized), -1)
    reconstructed = autoencoder.predict(flat, batch_size=4096, verbose=0)
    return np.mean((flat - reconstructed) ** 2, axis=1)


def tflite_scores(model: bytes, normalized: np.ndarray) -> np.ndarray:
    return tflite_outputs(model, normalized)[:, 0].astype(np.float64)


def fault_metrics(
    model: bytes, runs: list[FaultRun], mean: np.ndarray, std: np.ndarray
) -> tuple[list[float], np.ndarray]:
    """Detection delays (s from onset to the first window above the threshold) and developed scores."""
    delays: list[float] = []
    developed: list[np.ndarray] = []
    for run in runs:
        # Every window that ends at or after the onset, one sample apart, as the agent would see them.
        ends = np.arange(run.onset + 1, run.cleared + 1)
        batch = np.stack([run.samples[end - WINDOW : end] for end in ends])
        scores = tflite_scores(model, (batch - mean) / std)
        seconds_since_onset = (ends - run.onset) * SAMPLE_PERIOD_S
        above = np.flatnonzero(scores > ALARM_ABOVE)
        delays.append(float(seconds_since_onset[above[0]]) if len(above) else float("inf"))
        developed.append(scores[seconds_since_onset >= FAULT_DEVELOPED_S])
    return delays, np.concatenate(developed)


def card_text(
    *,
    sha256: str,
    seed: int,
    mean: np.ndarray,
    std: np.ndarray,
    data: str,
    metrics: dict[str, float],
) -> str:
    low_rpm, high_rpm = SETPOINT_RANGE_RPM
    return f"""\
# Model card, written by models/train_pump_anomaly.py: retrain rather than edit.
name: {MODEL_NAME}
version: {MODEL_VERSION}
description: >-
  Anomaly score for a centrifugal pump from a 4 s window of five signals: a dense autoencoder
  (80-32-8-32-80) whose graph ends with its mean squared reconstruction error, scaled so that 1.0 is
  the alarm threshold. Trained on healthy running of the simulated pump (edge_agent.simulator) at
  {low_rpm:.0f}-{high_rpm:.0f} rpm, including starts and stops; a developed bearing fault drives the
  score far above 1.
file: {MODEL_NAME}.tflite
sha256: {sha256}
every: {SAMPLE_PERIOD_S * 1000:.0f}ms   # the sample period it was trained on
inputs:
  tags: [{", ".join(FEATURES)}]
  units: [degC, mm/s, bar, m3/h, rpm]
  window: {WINDOW}
  dtype: float32
  shape: [1, {WINDOW}, {len(FEATURES)}]   # [batch, sample (oldest first), tag in the order above]
normalize:   # applied by the agent before the model: x_norm = (x - mean) / std, per tag
  mean: {card_floats(mean)}
  std: {card_floats(std)}
outputs:
  - {{name: anomaly_score, index: 0, shape: [1, 1], dtype: float32}}
  - {{name: anomaly, from: anomaly_score, above: {ALARM_ABOVE}, clear_below: {ALARM_CLEAR_BELOW}}}
training:
  script: models/train_pump_anomaly.py
  seed: {seed}
  data: {data}
  tensorflow: {tf.__version__}
metrics:
  validation_false_positive_rate: {metrics["validation_false_positive_rate"]:.6f}
  test_false_positive_rate: {metrics["test_false_positive_rate"]:.6f}
  validation_score_p999: {metrics["validation_score_p999"]:.3f}
  test_max_normal_score: {metrics["test_max_normal_score"]:.3f}
  fault_detection_delay_median_s: {metrics["fault_detection_delay_median_s"]:.2f}
  fault_detection_delay_max_s: {metrics["fault_detection_delay_max_s"]:.2f}
  developed_fault_score_min: {metrics["developed_fault_score_min"]:.2f}
  developed_fault_score_median: {metrics["developed_fault_score_median"]:.2f}
"""


@dataclass(frozen=True)
class Trained:
    """The trained autoencoder with the data it was trained and is measured on."""

    autoencoder: tf.keras.Model
    mean: np.ndarray
    std: np.ndarray
    normalized: dict[str, np.ndarray]  # split -> normalised windows [m, WINDOW, features]
    faults: list[FaultRun]
    scale: float  # raw reconstruction error -> score, so that 1.0 is the threshold


def train(seed: int, epochs: int) -> Trained:
    """Simulate the data and train the autoencoder; the same seed gives the same weights."""
    seed_everything(seed)
    run_seeds = random.Random(seed)

    started = time.monotonic()
    normal = {
        split: [simulate_normal_run(run_seeds.getrandbits(32), NORMAL_RUN_S) for _ in range(count)]
        for split, count in NORMAL_RUNS.items()
    }
    faults = [simulate_fault_run(run_seeds.getrandbits(32)) for _ in range(FAULT_RUNS)]
    print(
        f"simulated {sum(len(r) for runs in normal.values() for r in runs)} normal samples in "
        f"{time.monotonic() - started:.0f} s"
    )

    train_samples = np.concatenate(normal["train"])
    mean, std = as_printed(train_samples.mean(axis=0)), as_printed(train_samples.std(axis=0))
    split_windows = {
        split: (np.concatenate([windows(r) for r in runs]) - mean) / std for split, runs in normal.items()
    }
    train_flat = split_windows["train"].reshape(len(split_windows["train"]), -1)
    validation_flat = split_windows["validation"].reshape(len(split_windows["validation"]), -1)

    autoencoder = build_autoencoder()
    autoencoder.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse")
    autoencoder.fit(
        train_flat,
        train_flat,
        validation_data=(validation_flat, validation_flat),
        epochs=epochs,
        batch_size=256,
        shuffle=True,
        verbose=2,
    )

    # The threshold 1.0 sits at HEALTHY_MARGIN times the worst healthy validation window: at the 99.9th
    # percentile alone, an agent scoring several windows a second would raise a false alarm every few
    # minutes.
    validation_raw = raw_scores(autoencoder, split_windows["validation"])
    scale = 1.0 / (HEALTHY_MARGIN * float(validation_raw.max()))
    return Trained(autoencoder, mean, std, split_windows, faults, scale)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, argv, seed=DEFAULT_SEED, epochs=40)

    started = time.monotonic()
    trained = train(args.seed, args.epochs)
    mean, std, split_windows = trained.mean, trained.std, trained.normalized
    model = export_tflite(AnomalyScorer(trained.autoencoder, trained.scale))
    sha256 = hashlib.sha256(model).hexdigest()

    validation_scores = tflite_scores(model, split_windows["validation"])
    # The exported graph must compute what the trained model does.
    validation_raw = raw_scores(trained.autoencoder, split_windows["validation"])
    np.testing.assert_allclose(validation_scores, validation_raw * trained.scale, rtol=1e-3, atol=1e-3)
    test_scores = tflite_scores(model, split_windows["test"])
    delays, developed = fault_metrics(model, trained.faults, mean, std)
    metrics = {
        "validation_false_positive_rate": float(np.mean(validation_scores > ALARM_ABOVE)),
        "test_false_positive_rate": float(np.mean(test_scores > ALARM_ABOVE)),
        "validation_score_p999": float(np.percentile(validation_scores, 99.9)),
        "test_max_normal_score": float(test_scores.max()),
        "fault_detection_delay_median_s": float(np.median(delays)),
        "fault_detection_delay_max_s": float(np.max(delays)),
        "developed_fault_score_min": float(developed.min()),
        "developed_fault_score_median": float(np.median(developed)),
    }
    splits = ", ".join(f"{count} {split}" for split, count in NORMAL_RUNS.items())
    data = (
        f"{sum(NORMAL_RUNS.values())} simulated healthy runs of {NORMAL_RUN_S:.0f} s ({splits}), "
        f"{FAULT_RUNS} bearing-fault runs for the fault metrics"
    )

    card = card_text(sha256=sha256, seed=args.seed, mean=mean, std=std, data=data, metrics=metrics)
    write_model(
        args.output_dir, MODEL_NAME, model, card, started=started, metrics=metrics, metric_format=".6g"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
