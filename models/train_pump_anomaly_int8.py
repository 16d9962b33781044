"""Quantise the bundled pump anomaly model to 8-bit integers and export it as TensorFlow Lite.

    pip install -e '.[train]'
    python models/train_pump_anomaly_int8.py   # writes models/pump_anomaly_int8.tflite and .card.yaml

The autoencoder is trained exactly as models/train_pump_anomaly.py trains it (same seed, same data,
same weights), then converted with full-integer quantisation: int8 input, int8 weights and activations,
int8 output. The ranges of the activations come from a representative data set of simulated windows,
healthy and with developed bearing faults (from runs that are not used for measuring), so that a fault
still scores far above the threshold instead of saturating just above healthy running.

One change to the graph makes 8 bits enough: the normalised inputs are clipped to +-4 standard
deviations first. Within that range lies all healthy running; a window beyond it is anomalous anyway,
and clipping keeps the int8 input steps fine (about 0.03 standard deviations) where it matters.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

from models.train_pump_anomaly import (
    ALARM_ABOVE,
    ALARM_CLEAR_BELOW,
    DEFAULT_SEED,
    FAULT_DEVELOPED_S,
    FEATURES,
    SAMPLE_PERIOD_S,
    WINDOW,
    AnomalyScorer,
    FaultRun,
    simulate_fault_run,
    train,
)
from models.training import card_floats, export_tflite, parse_arguments, write_model

MODEL_NAME = "pump_anomaly_int8"
MODEL_VERSION = "1.0.0"
INPUT_CLIP = 4.0
CALIBRATION_HEALTHY_WINDOWS = 1000
CALIBRATION_FAULT_RUNS = 20
CALIBRATION_FAULT_WINDOWS = 300
# The int8 score is compared with the float one on held-out windows: this close on healthy running...
HEALTHY_TOLERANCE = 0.1
# ...and the same alarm decision on every window whose float score is this far from the threshold, and
# whose inputs lie within the clipping range (beyond it the int8 model by design sees less).
DECISION_MARGIN = 0.1


class QuantisableScorer(AnomalyScorer):
    """The float scorer with its inputs clipped to +-INPUT_CLIP first."""

    @tf.function(input_signature=[tf.TensorSpec([1, WINDOW, len(FEATURES)], tf.float32, name="window")])
    def __call__(self, window: tf.Tensor) -> dict[str, tf.Tensor]:
        return AnomalyScorer.__call__.python_function(self, tf.clip_by_value(window, -INPUT_CLIP, INPUT_CLIP))


def export_int8(scorer: QuantisableScorer, calibration: np.ndarray) -> bytes:
    def representative() -> Iterator[list[np.ndarray]]:
        for window in calibration:
            yield [window[np.newaxis].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [scorer.__call__.get_concrete_function()], scorer
    )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def scores(model: bytes, normalized: np.ndarray) -> np.ndarray:
    """Scores of normalised windows, quantising inputs and dequantising outputs as the agent does."""
    interpreter = tf.lite.Interpreter(model_content=model)
    interpreter.allocate_tensors()
    (window_input,) = interpreter.get_input_details()
    (score_output,) = interpreter.get_output_details()
    in_scale, in_zero = window_input["quantization"]
    out_scale, out_zero = score_output["quantization"]
    result = []
    for window in normalized:
        fed = window
        if window_input["dtype"] == np.int8:
            fed = np.clip(np.rint(window / in_scale + in_zero), -128, 127)
        interpreter.set_tensor(window_input["index"], fed[np.newaxis].astype(window_input["dtype"]))
        interpreter.invoke()
        value = float(interpreter.get_tensor(score_output["index"])[0, 0])
        result.append((value - out_zero) * out_scale if score_output["dtype"] == np.int8 else value)
    return np.asarray(result)


def fault_windows(runs: list[FaultRun], mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every window ending while the fault is on, and its seconds since the onset."""
    batches, since = [], []
    for run in runs:
        ends = np.arange(run.onset + 1, run.cleared + 1)
        batches.append(np.stack([run.samples[end - WINDOW : end] for end in ends]))
        since.append((ends - run.onset) * SAMPLE_PERIOD_S)
    return (np.concatenate(batches) - mean) / std, np.concatenate(since)


def card_text(
    *,
    sha256: str,
    seed: int,
    mean: np.ndarray,
    std: np.ndarray,
    input_quantization: tuple[float, int],
    output_quantization: tuple[float, int],
    float_sha256: str,
    metrics: dict[str, float],
) -> str:
    lines = "\n".join(f"  {name}: {value:.4f}" for name, value in metrics.items())
    out_scale, out_zero = output_quantization
    top = (127 - out_zero) * out_scale
    return f"""\
# Model card, written by models/train_pump_anomaly_int8.py: retrain rather than edit.
name: {MODEL_NAME}
version: {MODEL_VERSION}
description: >-
  The pump anomaly model (pump_anomaly.tflite) with full-integer quantisation: int8 input, weights,
  activations and output. Same inputs, normalisation and threshold; the normalised inputs are clipped
  to +-{INPUT_CLIP:g} standard deviations, and the score covers 0 to {top:.1f} in steps of {out_scale:.3f}.
file: {MODEL_NAME}.tflite
sha256: {sha256}
every: {SAMPLE_PERIOD_S * 1000:.0f}ms   # the sample period it was trained on
inputs:
  tags: [{", ".join(FEATURES)}]
  units: [degC, mm/s, bar, m3/h, rpm]
  window: {WINDOW}
  dtype: int8   # the agent quantises the normalised window with the tensor's scale and zero point
  shape: [1, {WINDOW}, {len(FEATURES)}]   # [batch, sample (oldest first), tag in the order above]
normalize:   # applied by the agent before the model: x_norm = (x - mean) / std, per tag
  mean: {card_floats(mean)}
  std: {card_floats(std)}
outputs:
  - {{name: anomaly_score, index: 0, shape: [1, 1], dtype: int8}}
  - {{name: anomaly, from: anomaly_score, above: {ALARM_ABOVE}, clear_below: {ALARM_CLEAR_BELOW}}}
quantization:   # as the tensors carry it; for information
  input: {{scale: {input_quantization[0]:.6g}, zero_point: {input_quantization[1]}}}
  output: {{scale: {out_scale:.6g}, zero_point: {out_zero}}}
  calibration: {CALIBRATION_HEALTHY_WINDOWS} healthy training windows and {CALIBRATION_FAULT_WINDOWS} \
windows of {CALIBRATION_FAULT_RUNS} bearing-fault runs of its own
training:
  script: models/train_pump_anomaly_int8.py
  seed: {seed}
  float_model_sha256: {float_sha256}
  tensorflow: {tf.__version__}
metrics:   # held-out data of models/train_pump_anomaly.py; "float" is pump_anomaly.tflite
{lines}
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, argv, seed=DEFAULT_SEED, epochs=40)

    started = time.monotonic()
    trained = train(args.seed, args.epochs)
    float_model = export_tflite(AnomalyScorer(trained.autoencoder, trained.scale))
    float_sha256 = hashlib.sha256(float_model).hexdigest()
    bundled = Path(__file__).resolve().parent / "pump_anomaly.tflite"
    if bundled.is_file() and hashlib.sha256(bundled.read_bytes()).hexdigest() != float_sha256:
        print(f"note: the float model trained here ({float_sha256[:12]}) is not the bundled {bundled.name}")

    calibration_seeds = random.Random(f"{args.seed}-calibration")
    calibration_faults, _ = fault_windows(
        [simulate_fault_run(calibration_seeds.getrandbits(32)) for _ in range(CALIBRATION_FAULT_RUNS)],
        trained.mean,
        trained.std,
    )
    pick = np.random.default_rng(args.seed)
    healthy = trained.normalized["train"]
    calibration = np.concatenate(
        [
            healthy[pick.choice(len(healthy), CALIBRATION_HEALTHY_WINDOWS, replace=False)],
            calibration_faults[
                pick.choice(len(calibration_faults), CALIBRATION_FAULT_WINDOWS, replace=False)
            ],
        ]
    )
    model = export_int8(QuantisableScorer(trained.autoencoder, trained.scale), calibration)
    sha256 = hashlib.sha256(model).hexdigest()

    interpreter = tf.lite.Interpreter(model_content=model)
    (window_input,) = interpreter.get_input_details()
    (score_output,) = interpreter.get_output_details()

    healthy_test = trained.normalized["test"]
    faulty, since_onset = fault_windows(trained.faults, trained.mean, trained.std)
    float_healthy, int8_healthy = scores(float_model, healthy_test), scores(model, healthy_test)
    float_faulty, int8_faulty = scores(float_model, faulty), scores(model, faulty)

    both_float = np.concatenate([float_healthy, float_faulty])
    both_int8 = np.concatenate([int8_healthy, int8_faulty])
    both_inside = np.abs(np.concatenate([healthy_test, faulty])).max(axis=(1, 2)) <= INPUT_CLIP
    clear = (np.abs(both_float - ALARM_ABOVE) > DECISION_MARGIN) & both_inside
    agree = (both_float > ALARM_ABOVE) == (both_int8 > ALARM_ABOVE)
    developed = since_onset >= FAULT_DEVELOPED_S
    metrics = {
        "test_false_positive_rate": float(np.mean(int8_healthy > ALARM_ABOVE)),
        "test_max_normal_score": float(int8_healthy.max()),
        "healthy_max_abs_diff_to_float": float(np.abs(int8_healthy - float_healthy).max()),
        "healthy_mean_abs_diff_to_float": float(np.abs(int8_healthy - float_healthy).mean()),
        "decision_agreement_with_float": float(np.mean(agree[clear])),
        "decision_agreement_with_float_all_windows": float(np.mean(agree)),
        "developed_fault_detection_rate": float(np.mean(int8_faulty[developed] > ALARM_ABOVE)),
        "developed_fault_score_min": float(int8_faulty[developed].min()),
    }
    assert metrics["healthy_max_abs_diff_to_float"] < HEALTHY_TOLERANCE, metrics
    assert metrics["decision_agreement_with_float"] == 1.0, metrics

    card = card_text(
        sha256=sha256,
        seed=args.seed,
        mean=trained.mean,
        std=trained.std,
        input_quantization=window_input["quantization"],
        output_quantization=score_output["quantization"],
        float_sha256=float_sha256,
        metrics=metrics,
    )
    write_model(
        args.output_dir, MODEL_NAME, model, card, started=started, metrics=metrics, metric_format=".4f"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
