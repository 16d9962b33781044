"""Generate the larger model the inference benchmark runs besides the bundled ones: bench/convnet.tflite.

    pip install -e '.[train]'
    python bench/make_convnet.py

A small 1-D convolutional network over a window of 1024 samples of 8 tags, with two output tensors (a
score and four class probabilities) so that the benchmark also covers several outputs. Its weights are
random (seeded): it is sized to cost the interpreter a few milliseconds per invocation, not to know
anything. A card beside it declares its inputs and outputs, as a model card does.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import tensorflow as tf

NAME = "convnet"
WINDOW = 1024
TAGS = 8
FILTERS = 64
KERNEL = 5
LAYERS = 4
SEED = 7


def build() -> tf.keras.Model:
    window = tf.keras.Input(shape=(WINDOW, TAGS), batch_size=1, name="window")
    hidden = window
    for _ in range(LAYERS):
        hidden = tf.keras.layers.Conv1D(FILTERS, KERNEL, padding="same", activation="relu")(hidden)
    pooled = tf.keras.layers.GlobalAveragePooling1D()(hidden)
    score = tf.keras.layers.Dense(1, activation="sigmoid", name="score")(pooled)
    classes = tf.keras.layers.Dense(4, activation="softmax", name="classes")(pooled)
    return tf.keras.Model(window, [score, classes])


def card_text(sha256: str, order: list[str]) -> str:
    tags = ", ".join(f"t{i}" for i in range(TAGS))
    score, classes = order.index("score"), order.index("classes")
    return f"""\
# Written by bench/make_convnet.py: a benchmark model with random weights, not a bundled model.
name: {NAME}
sha256: {sha256}
every: 1s
inputs:
  tags: [{tags}]
  window: {WINDOW}
  dtype: float32
normalize:
  mean: [{", ".join(["0"] * TAGS)}]
  std: [{", ".join(["1"] * TAGS)}]
outputs:
  - {{name: convnet_score, output: {score}, index: 0}}
  - {{name: convnet_class, classes: [a, b, c, d], output: {classes}}}
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    tf.keras.utils.set_random_seed(SEED)
    model = build()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    content = converter.convert()
    interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    # Which output tensor is which: the converter orders them as it likes.
    outputs = interpreter.get_output_details()
    order = ["score" if int(np.prod(o["shape"])) == 1 else "classes" for o in outputs]
    sha256 = hashlib.sha256(content).hexdigest()
    (args.output_dir / f"{NAME}.tflite").write_bytes(content)
    (args.output_dir / f"{NAME}.card.yaml").write_text(card_text(sha256, order))
    print(f"{len(content)} bytes, sha256 {sha256}, outputs {order}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
