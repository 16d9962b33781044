"""Cost of the agent's model wrapper over the bare TFLite interpreter, per invocation."""

from __future__ import annotations

import numpy as np

from bench.common import best_of, print_table
from edge_agent.inference.backend import interpreter_class
from edge_agent.inference.model import LoadedModel
from models import MODELS_DIR

WINDOW, FEATURES = 16, 5


def main() -> None:
    path = MODELS_DIR / "pump_anomaly.tflite"
    rng = np.random.default_rng(0)
    window = rng.normal(size=(WINDOW, FEATURES)).astype(np.float32)

    ours = LoadedModel(path, n_features=FEATURES, window=WINDOW, expected_sha256=None, normalise=None)
    _, interpreter_cls = interpreter_class()
    raw = interpreter_cls(model_path=str(path), num_threads=1)
    raw.allocate_tensors()
    input_index = raw.get_input_details()[0]["index"]
    output_index = raw.get_output_details()[0]["index"]
    shape = raw.get_input_details()[0]["shape"]
    assert ours.normalise is not None
    mean, std = ours.normalise.mean, ours.normalise.std

    def raw_invoke() -> object:
        # The same work done the plain way: normalise with the card's mean/std, run, read the score.
        raw.set_tensor(input_index, ((window - mean) / std).reshape(shape))
        raw.invoke()
        return raw.get_tensor(output_index).copy()

    print_table(
        f"inference ({ours.backend}, {path.name}, window {WINDOW}x{FEATURES})",
        [
            (
                "normalise + invoke one window + read",
                best_of(lambda: ours.invoke(window)),
                best_of(raw_invoke),
            )
        ],
    )


if __name__ == "__main__":
    main()
