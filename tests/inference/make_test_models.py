"""Generate the small models the inference tests run (besides the bundled ones), into this folder.

    pip install -e '.[train]'
    python tests/inference/make_test_models.py

- ``two_by_two.tflite``: two input tensors, ``a`` [1, 4, 2] (a window of 4 samples of 2 tags) and
  ``b`` [1, 3] (the latest value of 3 tags), and two output tensors: [sum(a), mean(b)] and 2 * b.
  Exact arithmetic, so a test can say what each output must be. The interpreter lists the input
  tensors as b, a: the order a config's `inputs` list follows.
- ``two_by_two_uint8.tflite``: the same with full-integer quantisation and uint8 inputs and outputs.
- ``slow.tflite``: one input tag, window 1, one output; the graph loops 400000 times over one
  multiply-add, so an invocation takes tens of milliseconds on any machine while the file stays small.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

HERE = Path(__file__).resolve().parent
SLOW_TURNS = 400_000


class TwoByTwo(tf.Module):
    @tf.function(
        input_signature=[
            tf.TensorSpec([1, 4, 2], tf.float32, name="a"),
            tf.TensorSpec([1, 3], tf.float32, name="b"),
        ]
    )
    def __call__(self, a: tf.Tensor, b: tf.Tensor) -> dict[str, tf.Tensor]:
        summary = tf.stack([tf.reduce_sum(a, axis=[1, 2]), tf.reduce_mean(b, axis=1)], axis=1)
        return {"out0_summary": summary, "out1_doubled": b * 2.0}


class Slow(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([1, 1, 1], tf.float32, name="value")])
    def __call__(self, value: tf.Tensor) -> dict[str, tf.Tensor]:
        def more(turn: tf.Tensor, total: tf.Tensor) -> tf.Tensor:
            return turn < SLOW_TURNS

        def turn_once(turn: tf.Tensor, total: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return turn + 1, total * 0.5 + 1.0

        _, total = tf.while_loop(more, turn_once, [tf.constant(0), tf.reshape(value, [1, 1])])
        return {"total": total}


def converter(module: tf.Module) -> tf.lite.TFLiteConverter:
    return tf.lite.TFLiteConverter.from_concrete_functions([module.__call__.get_concrete_function()], module)


def uint8(module: TwoByTwo) -> bytes:
    rng = np.random.default_rng(0)

    def representative() -> Iterator[dict[str, np.ndarray]]:
        for _ in range(200):
            a = rng.uniform(-1, 1, (1, 4, 2)).astype(np.float32)
            yield {"a": a, "b": rng.uniform(-1, 1, (1, 3)).astype(np.float32)}

    quantising = converter(module)
    quantising.optimizations = [tf.lite.Optimize.DEFAULT]
    quantising.representative_dataset = representative
    quantising.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    quantising.inference_input_type = tf.uint8
    quantising.inference_output_type = tf.uint8
    return quantising.convert()


def main() -> int:
    two_by_two = TwoByTwo()
    models = {
        "two_by_two.tflite": converter(two_by_two).convert(),
        "two_by_two_uint8.tflite": uint8(two_by_two),
        "slow.tflite": converter(Slow()).convert(),
    }
    for name, content in models.items():
        (HERE / name).write_bytes(content)
        interpreter = tf.lite.Interpreter(model_content=content)
        inputs = [(d["name"], list(d["shape"]), d["dtype"].__name__) for d in interpreter.get_input_details()]
        outputs = [
            (d["name"], list(d["shape"]), d["dtype"].__name__) for d in interpreter.get_output_details()
        ]
        print(f"{name}: {len(content)} bytes, inputs {inputs}, outputs {outputs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
