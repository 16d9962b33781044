"""A TFLite model loaded, checked against its declaration, and ready to invoke."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .backend import NoBackendError, interpreter_class
from .card import load_card
from .probe import probe_model

log = logging.getLogger(__name__)


class ModelRefused(Exception):
    """The model cannot be used; the message says why in words for the person who configured it."""


@dataclass(frozen=True)
class Normalisation:
    mean: np.ndarray
    std: np.ndarray


class LoadedModel:
    """One interpreter with its input buffer allocated once and reused for every invocation."""

    def __init__(
        self,
        path: Path,
        *,
        n_features: int,
        window: int,
        expected_sha256: str | None,
        normalise: Normalisation | None,
        num_threads: int = 1,
        input_tags: list[str] | None = None,
    ) -> None:
        if not path.is_file():
            raise ModelRefused(f"model file {path} does not exist")
        try:
            card = load_card(path)
        except Exception as exc:
            raise ModelRefused(f"model card for {path.name} is unreadable: {exc}") from exc
        content = path.read_bytes()
        actual = hashlib.sha256(content).hexdigest()
        expected = expected_sha256 or card.get("sha256")
        if expected and actual != expected:
            raise ModelRefused(f"{path.name}: SHA-256 is {actual}, expected {expected}")
        probe = probe_model(path)
        if not probe.ok:
            raise ModelRefused(f"{path.name}: {probe.reason}")
        if probe.sha256 != actual:
            raise ModelRefused(f"{path.name} changed while it was being checked; not loaded")
        if input_tags is not None:
            check_card_inputs(card, input_tags, window, path.stem)
        self.sha256 = actual
        self.card = card
        self.normalise = normalise or _card_normalisation(card, n_features)
        try:
            self.backend, interpreter = interpreter_class()
        except NoBackendError as exc:
            raise ModelRefused(str(exc)) from exc
        try:
            # The very bytes that were hashed and probed, not the file again.
            self._interpreter = interpreter(model_content=content, num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except Exception as exc:  # the interpreter raises bare ValueError/RuntimeError on a bad flatbuffer
            raise ModelRefused(f"{path.name} is not a valid TFLite model: {exc}") from exc
        inputs = self._interpreter.get_input_details()
        if len(inputs) != 1:
            raise ModelRefused(f"{path.name}: expected 1 input tensor, the model has {len(inputs)}")
        self._input = inputs[0]
        shape = tuple(int(d) for d in self._input["shape"])
        if shape not in ((1, window, n_features), (1, window * n_features)):
            raise ModelRefused(
                f"{path.name}: input shape is {list(shape)}, expected [1, {window}, {n_features}] "
                f"({window} samples x {n_features} tags)"
            )
        self._input_dtype = self._input["dtype"]
        if self._input_dtype not in (np.float32, np.int8, np.uint8):
            raise ModelRefused(
                f"{path.name}: input dtype {np.dtype(self._input_dtype).name} is not supported"
            )
        self._buffer = np.zeros(shape, dtype=self._input_dtype)
        self._scratch = np.zeros((window, n_features), dtype=np.float32)
        self._inv_std = None if self.normalise is None else (1.0 / self.normalise.std).astype(np.float32)
        self._outputs = self._interpreter.get_output_details()
        self.output_size = sum(int(np.prod(o["shape"])) for o in self._outputs)

    def invoke(self, window: np.ndarray) -> np.ndarray:
        """Run the model on a (window, n_features) array of raw tag values; returns outputs flattened.

        Normalisation and quantisation write into buffers allocated once at load: the hot path makes
        no arrays of its own beyond the interpreter's output copies.
        """
        scratch = self._scratch
        if self.normalise is not None:
            np.subtract(window, self.normalise.mean, out=scratch)
            np.multiply(scratch, self._inv_std, out=scratch)
        else:
            np.copyto(scratch, window)
        if self._input_dtype == np.float32:
            self._interpreter.set_tensor(self._input["index"], scratch.reshape(self._buffer.shape))
        else:
            scale, zero_point = self._input["quantization"]
            info = np.iinfo(self._input_dtype)
            np.divide(scratch, scale, out=scratch)
            np.add(scratch, zero_point, out=scratch)
            np.rint(scratch, out=scratch)
            np.clip(scratch, info.min, info.max, out=scratch)
            self._buffer.reshape(scratch.shape)[:] = scratch
            self._interpreter.set_tensor(self._input["index"], self._buffer)
        self._interpreter.invoke()
        parts = []
        for detail in self._outputs:
            out = self._interpreter.get_tensor(detail["index"]).reshape(-1)  # get_tensor returns a copy
            if detail["dtype"] != np.float32:
                scale, zero_point = detail["quantization"]
                out = (out.astype(np.float32) - zero_point) * scale
            parts.append(out)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _card_normalisation(card: dict[str, Any], n_features: int) -> Normalisation | None:
    spec = card.get("normalize")
    if not spec:
        return None
    try:
        mean = np.asarray(spec["mean"], dtype=np.float32)
        std = np.asarray(spec["std"], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelRefused(
            f"model card 'normalize' needs lists 'mean' and 'std' of numbers ({exc!r})"
        ) from exc
    if mean.shape != (n_features,) or std.shape != (n_features,):
        raise ModelRefused(
            f"model card normalisation has {mean.size} mean / {std.size} std values, "
            f"expected {n_features} (one per input tag)"
        )
    if not np.all(std > 0):
        raise ModelRefused("model card normalisation has a std that is not above 0")
    return Normalisation(mean, std)


def check_card_inputs(card: dict[str, Any], tags: list[str], window: int, model_name: str) -> None:
    """Feed a model what its card says it was trained on: as many signals, in windows of that size.

    The card's tag names are those of the plant the model was trained on; a plant may name its tags
    differently, so a name difference is only warned about, with both lists so that the order is checked.
    """
    inputs = card.get("inputs")
    if not isinstance(inputs, dict):
        return
    expected_window = inputs.get("window")
    if expected_window is not None and int(expected_window) != window:
        raise ModelRefused(
            f"the model card expects a window of {expected_window} samples, the config gives {window}"
        )
    expected_tags = inputs.get("tags")
    if expected_tags is None:
        return
    if len(expected_tags) != len(tags):
        raise ModelRefused(
            f"the model card expects {len(expected_tags)} input tags {list(expected_tags)}, the config gives "
            f"{len(tags)}: {tags}"
        )
    if list(expected_tags) != list(tags):
        log.warning(
            "model %s: the card's inputs are %s, the config feeds %s: check that the order matches",
            model_name,
            list(expected_tags),
            tags,
        )
