"""A model that does not fit what is declared is refused at load, and the reason names both sides."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.inference.backend import install_advice
from edge_agent.inference.model import LoadedModel, ModelRefused
from edge_agent.inference.pipeline import ModelPipeline
from edge_agent.tags import TagInfo
from edge_agent.tagstore import TagStore
from models import MODELS_DIR
from tests.support.feeding import PUMP_TAGS, model_config

HERE = Path(__file__).resolve().parent  # the room's test models lie beside its tests

ANOMALY = MODELS_DIR / "pump_anomaly.tflite"
INT8 = MODELS_DIR / "pump_anomaly_int8.tflite"
TWO_BY_TWO = HERE / "two_by_two.tflite"
TWO_INPUTS = [{"tags": ["b0", "b1", "b2"]}, {"tags": ["a0", "a1"], "window": 4}]


def refusal(path: Path, **entry: object) -> str:
    """The reason the model at ``path`` is refused under the entry (its file: the bare name)."""
    config = model_config(**{"name": "m", "file": str(path), **entry})
    with pytest.raises(ModelRefused) as refused:
        LoadedModel(path, config)
    return str(refused.value)


def test_a_hash_mismatch_names_both_hashes(tmp_path: Path) -> None:
    reason = refusal(ANOMALY, sha256="0" * 64)
    actual = hashlib.sha256(ANOMALY.read_bytes()).hexdigest()
    assert reason == f"pump_anomaly.tflite: SHA-256 is {actual}, expected {'0' * 64} (from the config)"


def test_a_tampered_file_is_refused_by_the_hash_on_its_card(tmp_path: Path) -> None:
    tampered = tmp_path / "pump_anomaly.tflite"
    content = bytearray(ANOMALY.read_bytes())
    content[-100] ^= 0xFF
    tampered.write_bytes(bytes(content))
    shutil.copy(MODELS_DIR / "pump_anomaly.card.yaml", tmp_path)
    config = model_config(name="m", file=str(tampered))
    with pytest.raises(
        ModelRefused, match=r"SHA-256 is [0-9a-f]{64}, expected f93b55b8.* \(from the model card\)"
    ):
        LoadedModel(tampered, config)


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[:2000], lambda b: b"not a model at all" * 10, lambda b: b[:64] + bytes(len(b) - 64)],
    ids=["truncated", "garbage", "zeroed"],
)
def test_a_corrupt_model_file_is_refused_with_a_reason_and_the_agent_survives(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    # The interpreter segfaults on some of these; the agent must only refuse them.
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(damage(ANOMALY.read_bytes()))
    reason = refusal(broken, inputs={"tags": PUMP_TAGS, "window": 16}, outputs=[{"name": "s"}])
    assert "corrupt" in reason or "not a valid TFLite model" in reason


def test_a_window_that_does_not_fit_the_input_tensor_names_both_shapes() -> None:
    reason = refusal(ANOMALY, inputs={"tags": PUMP_TAGS, "window": 8})
    assert reason == (
        "pump_anomaly.tflite: input 0 (serving_default_window:0) has shape [1, 16, 5], "
        "expected [1, 8, 5] (8 samples x 5 tags)"
    )


def test_a_model_with_more_input_tensors_than_declared_says_how_to_declare_them() -> None:
    reason = refusal(TWO_BY_TWO, inputs={"tags": ["x"]}, outputs=[{"name": "s"}])
    assert reason == (
        "two_by_two.tflite: the model has 2 input tensors, the config declares 1: give `inputs` as a list "
        "with one {tags, window} per input tensor, in tensor order"
    )


def test_inputs_declared_in_the_wrong_order_name_the_tensor_that_does_not_fit() -> None:
    reason = refusal(TWO_BY_TWO, inputs=list(reversed(TWO_INPUTS)), outputs=[{"name": "s"}])
    assert reason == (
        "two_by_two.tflite: input 0 (serving_default_b:0) has shape [1, 3], expected [1, 4, 2] "
        "(4 samples x 2 tags)"
    )


def test_an_input_dtype_other_than_declared_names_both() -> None:
    reason = refusal(INT8, inputs={"tags": PUMP_TAGS, "window": 16, "dtype": "float32"})
    assert reason == (
        "pump_anomaly_int8.tflite: input 0 (serving_default_window:0) has dtype int8, expected float32 "
        "(as the config declares)"
    )


def test_an_output_dtype_other_than_declared_on_the_card_names_both(tmp_path: Path) -> None:
    model = tmp_path / "pump_anomaly.tflite"
    shutil.copy(ANOMALY, model)
    card = (MODELS_DIR / "pump_anomaly.card.yaml").read_text()
    (tmp_path / "pump_anomaly.card.yaml").write_text(card.replace("dtype: float32}", "dtype: uint8}"))
    config = model_config(name="m", file=str(model))
    with pytest.raises(ModelRefused) as refused:
        LoadedModel(model, config)
    assert str(refused.value) == (
        "pump_anomaly.tflite: output 0 (PartitionedCall:0) has dtype float32, expected uint8 "
        "(as its model card declares for 'anomaly_score')"
    )


def test_an_output_tensor_the_model_does_not_have() -> None:
    reason = refusal(ANOMALY, outputs=[{"name": "s", "output": 1}])
    assert reason == "pump_anomaly.tflite: 's' reads output 1, the model has 1 output tensor"


def test_a_score_index_beyond_its_output_tensor_names_the_shape() -> None:
    reason = refusal(TWO_BY_TWO, inputs=TWO_INPUTS, outputs=[{"name": "s", "output": 1, "index": 3}])
    assert reason == (
        "two_by_two.tflite: 's' reads value 3 of output 1 (PartitionedCall:1), which has shape [1, 3]: "
        "3 values"
    )


def test_a_classifier_needs_one_class_per_value_of_its_tensor() -> None:
    reason = refusal(
        TWO_BY_TWO, inputs=TWO_INPUTS, outputs=[{"name": "kind", "classes": ["x", "y"], "output": 1}]
    )
    assert reason == (
        "two_by_two.tflite: output 1 (PartitionedCall:1) has shape [1, 3]: 3 values, expected 2, "
        "one per class of 'kind' (x, y)"
    )


def test_the_cards_normalisation_is_not_applied_to_other_inputs_than_its_own() -> None:
    # Ten tags in windows of 8 fill the same 80 values, but the card's five means and stds cannot
    # be theirs.
    tags = [f"t{i}" for i in range(10)]
    config = model_config(name="m", file="pump_anomaly.tflite", inputs={"tags": tags, "window": 8})
    assert config.normalize is None
    assert config.unfit_card_normalization == (
        "the model card's normalize has 5 values per key, the config's inputs list 10 tags"
    )


def test_a_text_tag_cannot_be_a_model_input() -> None:
    config = model_config(name="m", file=str(TWO_BY_TWO), inputs=TWO_INPUTS, outputs=[{"name": "s"}])
    store = TagStore(
        [
            TagInfo("b0", "panel", "string"),
            *(TagInfo(tag, "plant", "float") for tag in ("b1", "b2", "a0", "a1")),
        ]
    )
    for info in config.tag_infos():
        store.declare(info)
    pipeline = ModelPipeline(config, TWO_BY_TWO, store)
    pipeline.load()
    assert pipeline.refusal == "input tag 'b0' holds text; a model takes numbers"


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="TensorFlow is installed here")
def test_a_model_without_its_interpreter_is_refused_for_that_not_as_an_invalid_model() -> None:
    config = model_config(name="m", file=str(ANOMALY))
    with pytest.raises(ModelRefused) as refused:
        LoadedModel(ANOMALY, config, backend="tensorflow")  # the one interpreter the tests never install

    reason = str(refused.value)
    assert reason.startswith("pump_anomaly.tflite: no TFLite interpreter is installed: install ")
    assert "not a valid" not in reason


@pytest.mark.parametrize(
    ("version", "pointer_bytes", "advice"),
    [
        ((3, 11), 8, "install 'tflite-runtime' (Python <= 3.11, with numpy<2) or 'ai-edge-litert'"),
        ((3, 11), 4, "install 'tflite-runtime' 2.14 (built for 32-bit ARM with Python 3.11) with numpy<2"),
        ((3, 13), 4, "on-device inference needs a 64-bit OS here (Raspberry Pi OS 64-bit)"),
    ],
)
def test_the_advice_for_a_missing_interpreter_fits_the_python_and_the_system(
    version: tuple[int, int], pointer_bytes: int, advice: str
) -> None:
    assert advice in install_advice(version, pointer_bytes)
