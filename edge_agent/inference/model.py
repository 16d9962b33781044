"""A TFLite model loaded, checked against its declaration, and ready to invoke."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .backend import interpreter_class
from .card import load_card
from .probe import probe_model


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
        self.sha256 = actual
        self.card = card
        self.normalise = normalise or _card_normalisation(card, n_features)
        self.backend, interpreter = interpreter_class()
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
        if shape[0] != 1 or math.prod(shape) != window * n_features:
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
    mean = np.asarray(spec["mean"], dtype=np.float32)
    std = np.asarray(spec["std"], dtype=np.float32)
    if mean.shape != (n_features,) or std.shape != (n_features,):
        raise ModelRefused(
            f"model card normalisation has {mean.shape[0]} mean / {std.shape[0]} std values, "
            f"expected {n_features} (one per input tag)"
        )
    return Normalisation(mean, std)
