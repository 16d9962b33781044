"""What the agent's model pipeline costs per cycle over the bare interpreter, for every bundled model.

The pipeline's cycle is what ``ModelPipeline`` does every ``every`` minus the wait: take one sample of
the input tags from the tag store, normalise and quantise the window, invoke the model (on the event
loop, or in the model's thread for a slow one), and map the outputs to readings in the tag store.
The raw cycle is ``set_tensor`` + ``invoke`` + ``get_tensor`` on an interpreter of the same model with
the same backend and threads. Besides the bundled models, bench/convnet.tflite (a generated 1-D conv
net, see bench/make_convnet.py) shows a model whose invocation takes milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge_agent.config.inference import ModelConfig
from edge_agent.inference.backend import interpreter_class
from edge_agent.inference.pipeline import ModelPipeline
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore
from models import MODELS_DIR

BENCH_DIR = Path(__file__).resolve().parent
MODELS = [
    MODELS_DIR / "pump_anomaly.tflite",
    MODELS_DIR / "pump_anomaly_int8.tflite",
    MODELS_DIR / "pump_state.tflite",
    BENCH_DIR / "convnet.tflite",
]
REPEAT = 7


def best_per_call(run: Callable[[int], float], calls: int) -> float:
    """Seconds per call, the best of REPEAT runs of ``calls`` calls."""
    return min(run(calls) / calls for _ in range(REPEAT))


def pipeline_for(path: Path) -> ModelPipeline:
    config = ModelConfig.model_validate({"name": "bench", "file": str(path)})
    rng = np.random.default_rng(0)
    store = TagStore(TagInfo(tag, "bench", "float") for tag in dict.fromkeys(config.input_tags))
    for info in config.tag_infos():
        store.declare(info)
    # Plausible values: inside the card's normalisation, so the outputs are what a plant would get.
    offsets, factors = config.normalize.affine() if config.normalize else ([0.0] * 99, [1.0] * 99)
    for tag, offset, factor in zip(config.input_tags, offsets, factors, strict=False):
        store.publish(Reading(tag, float(offset + rng.uniform(0, 0.5) / factor)))
    pipeline = ModelPipeline(config, path, store)
    pipeline.load()
    assert pipeline.model is not None, pipeline.refusal
    return pipeline


def pipeline_cycle(pipeline: ModelPipeline) -> Callable[[int], float]:
    loop = asyncio.new_event_loop()

    async def cycles(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            await pipeline.cycle()
        return time.perf_counter() - started

    loop.run_until_complete(cycles(pipeline.window))  # a full window first
    return lambda count: loop.run_until_complete(cycles(count))


def raw_cycle(path: Path, num_threads: int) -> Callable[[int], float]:
    _, interpreter_cls = interpreter_class()
    interpreter = interpreter_cls(model_content=path.read_bytes(), num_threads=num_threads)
    interpreter.allocate_tensors()
    feeds = [
        (detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
        for detail in interpreter.get_input_details()
    ]
    outputs = [detail["index"] for detail in interpreter.get_output_details()]
    set_tensor, invoke, get_tensor = interpreter.set_tensor, interpreter.invoke, interpreter.get_tensor

    def cycles(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            for index, value in feeds:
                set_tensor(index, value)
            invoke()
            for index in outputs:
                get_tensor(index)
        return time.perf_counter() - started

    cycles(10)
    return cycles


def main() -> None:
    rows = []
    for path in MODELS:
        pipeline = pipeline_for(path)
        assert pipeline.model is not None
        calls = 2000 if pipeline.model.invoke_seconds < 1e-4 else 300
        ours = best_per_call(pipeline_cycle(pipeline), calls)
        raw = best_per_call(raw_cycle(path, pipeline.config.num_threads), calls)
        where = "loop" if pipeline.inline else "thread"
        rows.append((path.name, path.stat().st_size, where, raw, ours))
        pipeline.close()
    backend, _ = interpreter_class()
    print(
        f"\ninference per cycle ({backend}, 1 thread): the agent's pipeline vs set_tensor+invoke+get_tensor"
    )
    print(
        f"{'model':<26} {'size':>8} {'runs in':>8} {'raw':>10} {'pipeline':>10} {'overhead':>10} {'ratio':>7}"
    )
    for name, size, where, raw, ours in rows:
        print(
            f"{name:<26} {size / 1000:>6.1f}kB {where:>8} {raw * 1e6:>8.1f}us {ours * 1e6:>8.1f}us "
            f"{(ours - raw) * 1e6:>8.1f}us {ours / raw:>7.2f}"
        )


if __name__ == "__main__":
    main()
