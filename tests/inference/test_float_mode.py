"""Loading and running a TFLite interpreter leaves the process's float arithmetic as it was.

tflite-runtime's aarch64 wheel switches the importing thread to flush-to-zero; the agent switches it back
(edge_agent/inference/float_mode.py). On x86-64 the first test holds without that; the arm64 check
(`make arm64-check`) runs this file on the Pi's architecture.
"""

from __future__ import annotations

import platform
import struct
import threading
from collections.abc import Callable

import pytest

from drivers.modbus.codec import decode
from drivers.modbus.point_config import ModbusPoint
from edge_agent.inference import float_mode
from tests.support.feeding import BACKENDS, feed, model_config, pipeline_for, settled_pump

SMALLEST_FLOAT32 = [0x0000, 0x0001]  # the register image of 1.4e-45, a subnormal


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_model_loaded_and_run_leaves_subnormal_numbers_alone(backend: str) -> None:
    pipeline = pipeline_for(model_config(name="health", file="pump_anomaly.tflite"), backend)
    await feed(settled_pump(seed=1), pipeline, 5)
    assert pipeline.invocations > 0

    assert not float_mode.flushes_subnormals()
    point = ModbusPoint.model_validate({"name": "p", "kind": "holding", "address": 0, "type": "float32"})
    assert decode(point, SMALLEST_FLOAT32) == struct.unpack("<f", struct.pack("<I", 1))[0] > 0


def _switch_to_flush_to_zero() -> None:
    """Do what fast-math start-up code does to this thread: set the FPU's flush-to-zero bit."""
    environment = bytearray(float_mode.environment() or b"")
    machine = platform.machine()
    if machine in ("aarch64", "arm64"):
        (fpcr,) = struct.unpack_from("<I", environment, 0)  # fenv_t starts with FPCR; FZ is bit 24
        struct.pack_into("<I", environment, 0, fpcr | 1 << 24)
    else:
        (mxcsr,) = struct.unpack_from("<I", environment, 28)  # x86-64 fenv_t: MXCSR at byte 28
        struct.pack_into("<I", environment, 28, mxcsr | 0x8040)  # FTZ and DAZ
    assert float_mode.set_environment(bytes(environment))


def _in_a_thread(body: Callable[[], list[bool]]) -> list[bool]:
    """Run ``body`` in a thread of its own, so that a failure cannot leave the test process flushing."""
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: seen.extend(body()))
    thread.start()
    thread.join()
    return seen


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64", "aarch64", "arm64") or float_mode.environment() is None,
    reason="the flush-to-zero bit is set here for x86-64 and aarch64 only",
)
def test_a_switch_to_flush_to_zero_inside_the_block_is_undone() -> None:
    def body() -> list[bool]:
        with float_mode.kept("the test's switch"):
            _switch_to_flush_to_zero()
            flushed_inside = float_mode.flushes_subnormals()
        return [flushed_inside, float_mode.flushes_subnormals()]

    assert _in_a_thread(body) == [True, False]
