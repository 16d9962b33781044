"""What the training scripts share: their command line, seeding, TFLite export and running, and output."""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from models import MODELS_DIR


def parse_arguments(
    description: str | None, argv: list[str] | None, *, seed: int, epochs: int
) -> argparse.Namespace:
    """--seed, --epochs and --output-dir (default: beside the bundled models)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--output-dir", type=Path, default=MODELS_DIR)
    return parser.parse_args(argv)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def as_printed(values: np.ndarray) -> np.ndarray:
    """The values rounded as the card prints them: a model is trained and measured with its card's numbers."""
    return np.asarray([float(f"{value:.6g}") for value in values], dtype=np.float32)


def card_floats(values: np.ndarray) -> str:
    """A YAML flow list of the values, as the card prints them."""
    return "[" + ", ".join(f"{value:.6g}" for value in values) + "]"


def export_tflite(module: tf.Module) -> bytes:
    """The float TFLite model of the module's ``__call__``."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module
    )
    return converter.convert()


def tflite_outputs(model: bytes, windows: np.ndarray) -> np.ndarray:
    """The model's single output for each window, fed one at a time as the agent feeds them: [m, ...]."""
    interpreter = tf.lite.Interpreter(model_content=model)
    interpreter.allocate_tensors()
    (window_input,) = interpreter.get_input_details()
    (output,) = interpreter.get_output_details()
    rows = []
    for window in windows:
        interpreter.set_tensor(window_input["index"], window[np.newaxis].astype(np.float32))
        interpreter.invoke()
        rows.append(interpreter.get_tensor(output["index"])[0])
    return np.asarray(rows)


def write_model(
    output_dir: Path,
    name: str,
    model: bytes,
    card: str,
    *,
    started: float,
    metrics: dict[str, float],
    metric_format: str,
) -> None:
    """Write ``<name>.tflite`` and ``<name>.card.yaml``, and print what was written and its metrics."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / f"{name}.tflite").write_bytes(model)
    (output_dir / f"{name}.card.yaml").write_text(card)
    print(
        f"{len(model)} bytes, sha256 {hashlib.sha256(model).hexdigest()}, {time.monotonic() - started:.0f} s"
    )
    for metric, value in metrics.items():
        print(f"  {metric}: {value:{metric_format}}")
