"""A TFLite model loaded, checked against its declaration, and ready to invoke."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from edge_agent.config.inference import ClassifierOutput, ModelConfig, ModelInputs, ScoreOutput
from edge_agent.identity.signatures import SignatureError, SignedFilePolicy

from .backend import NoBackendError, interpreter_class
from .probe import probe_model

log = logging.getLogger(__name__)

Array: TypeAlias = npt.NDArray[Any]
"""A tensor's values: float32, int8 or uint8, which only the model file tells."""

TENSOR_TYPES = {np.dtype(np.float32): "float32", np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8"}
"""The element types the agent feeds and reads, by the names the config uses."""

# At load, the model runs a few times on zeros to learn how long it takes, for this long at most.
TIMING_BUDGET_S = 0.2
TIMING_RUNS = 5


class ModelRefused(Exception):
    """The model cannot be used; the message says why in words for the person who configured it."""


@dataclass(frozen=True, slots=True, eq=False)
class TensorInput:
    """One input tensor: which input tags feed it, and the buffer that is handed to the interpreter.

    The raw window becomes ``window * multiplier + addend``: normalisation and, for an 8-bit tensor,
    quantisation with its scale and zero point folded into one multiply-add per value, written into
    buffers allocated once.
    """

    index: int
    name: str
    columns: slice
    """The columns of this tensor's tags among all of the model's input tags."""
    window: int
    buffer: Array
    """Shaped and typed as the tensor; given to ``set_tensor``."""
    rows: Array
    """``buffer`` seen as [window, tags]."""
    multiplier: npt.NDArray[np.float32] | None
    addend: npt.NDArray[np.float32] | None
    scratch: npt.NDArray[np.float32] | None
    """Float workspace [window, tags] for an 8-bit tensor; None for a float one."""
    limits: tuple[int, int]

    def fill(self, window: Array) -> None:
        """Write a raw [window, tags] array of tag values into the tensor's buffer."""
        multiplier, addend, scratch = self.multiplier, self.addend, self.scratch
        if multiplier is None or addend is None:  # both or neither; an 8-bit tensor always has them
            np.copyto(self.rows, window)
            return
        if scratch is None:
            np.multiply(window, multiplier, out=self.rows)
            np.add(self.rows, addend, out=self.rows)
            return
        np.multiply(window, multiplier, out=scratch)
        np.add(scratch, addend, out=scratch)
        np.rint(scratch, out=scratch)
        np.clip(scratch, self.limits[0], self.limits[1], out=scratch)
        np.copyto(self.rows, scratch, casting="unsafe")


@dataclass(frozen=True, slots=True)
class TensorOutput:
    """One output tensor and how to turn its values into numbers."""

    index: int
    name: str
    shape: tuple[int, ...]
    size: int
    dtype: np.dtype[Any]
    quantised: bool
    scale: float
    zero_point: int

    def value(self, raw: Array, position: int) -> float:
        """The value at ``position`` of the flattened tensor ``raw``, dequantised."""
        value: float = raw.item(position)
        return (value - self.zero_point) * self.scale if self.quantised else value


class LoadedModel:
    """One interpreter, checked against what the config (or the model card) declares.

    Refused with ModelRefused, whose message names what was expected and what the model has, when the
    file is missing, corrupt, has another SHA-256, or its tensors do not fit the declaration; and, when
    signed files are required, when its signature is missing or does not hold.
    """

    def __init__(
        self,
        path: Path,
        config: ModelConfig,
        *,
        backend: str | None = None,
        signatures: SignedFilePolicy | None = None,
    ) -> None:
        if not path.is_file():
            raise ModelRefused(f"model file {path} does not exist")
        content = path.read_bytes()
        try:
            # The provisioned PKI decides, as for the config (see edge_agent.identity.signatures).
            (signatures or SignedFilePolicy.provisioned()).check(path, content)
        except SignatureError as exc:
            raise ModelRefused(f"{path.name}: {exc}") from None
        actual = hashlib.sha256(content).hexdigest()
        if config.sha256 and actual != config.sha256:
            raise ModelRefused(
                f"{path.name}: SHA-256 is {actual}, expected {config.sha256} "
                f"(from the {config.origins.get('sha256', 'config')})"
            )
        probe = probe_model(path, backend)
        if not probe.ok:
            raise ModelRefused(f"{path.name}: {probe.reason}")
        if probe.sha256 != actual:
            raise ModelRefused(f"{path.name} changed while it was being checked; not loaded")
        try:
            self.backend, interpreter_cls = interpreter_class(backend)
        except NoBackendError as exc:
            raise ModelRefused(str(exc)) from exc
        try:
            # The very bytes that were hashed and probed, not the file again.
            self._interpreter = interpreter_cls(model_content=content, num_threads=config.num_threads)
            self._interpreter.allocate_tensors()
        except Exception as exc:  # the interpreter raises bare ValueError/RuntimeError on a bad flatbuffer
            raise ModelRefused(f"{path.name} is not a valid TFLite model: {exc}") from exc
        self.path = path
        self.sha256 = actual
        self.inputs = _inputs(path.name, self._interpreter.get_input_details(), config)
        self.outputs = _outputs(path.name, self._interpreter.get_output_details())
        _check_outputs(path.name, self.outputs, config)
        if config.normalize is None and config.unfit_card_normalization:
            raise ModelRefused(
                f"{path.name}: {config.unfit_card_normalization}; give `normalize` in the config "
                "(`normalize: null` for none)"
            )
        self._set_tensor = self._interpreter.set_tensor
        self._invoke = self._interpreter.invoke
        self._get_tensor = self._interpreter.get_tensor
        self._feeds = [(tensor.index, tensor.buffer) for tensor in self.inputs]
        self._output_indexes = [tensor.index for tensor in self.outputs]
        self.invoke_seconds = self._time_invocations()

    def fill(self, windows: Sequence[Array]) -> None:
        """Normalise and quantise one raw [window, tags] array per input tensor into its buffer."""
        for tensor, window in zip(self.inputs, windows, strict=True):
            tensor.fill(window)

    def run(self) -> list[Array]:
        """Invoke the model on what ``fill`` wrote; the output tensors, raw (copies the caller owns).

        Safe to call from a worker thread while the event loop goes on, as long as nothing calls
        ``fill`` or ``run`` meanwhile.
        """
        set_tensor = self._set_tensor
        for index, buffer in self._feeds:
            set_tensor(index, buffer)
        self._invoke()
        get_tensor = self._get_tensor
        return [get_tensor(index) for index in self._output_indexes]

    def infer(self, *windows: Array) -> list[Array]:
        """``fill`` and ``run``, with every output dequantised to float32."""
        self.fill(windows)
        return [
            (raw.astype(np.float32) - out.zero_point) * np.float32(out.scale) if out.quantised else raw
            for raw, out in zip(self.run(), self.outputs, strict=True)
        ]

    def _time_invocations(self) -> float:
        """The shortest of a few invocations on zeros, in seconds (what it costs when nothing interferes)."""
        timings: list[float] = []
        spent = 0.0
        self.run()  # the first invocation prepares kernels and caches, and is not typical
        while len(timings) < TIMING_RUNS and spent < TIMING_BUDGET_S:
            started = time.perf_counter()
            self.run()
            timings.append(time.perf_counter() - started)
            spent += timings[-1]
        reset = getattr(self._interpreter, "reset_all_variables", None)
        if reset is not None:
            reset()  # a stateful model starts from its initial state, not from the zeros it just saw
        return min(timings) if timings else 0.0


def _inputs(file: str, details: list[dict[str, Any]], config: ModelConfig) -> list[TensorInput]:
    groups = config.input_groups
    declared_by = _declared_by(config, "inputs")
    if len(details) != len(groups):
        hint = ""
        if len(groups) == 1:
            hint = ": give `inputs` as a list with one {tags, window} per input tensor, in tensor order"
        raise ModelRefused(
            f"{file}: the model has {_tensors(len(details), 'input')}, "
            f"{declared_by} declares {len(groups)}{hint}"
        )
    if config.normalize is not None:
        offsets, factors = config.normalize.affine()
    tensors = []
    start = 0
    for position, (detail, group) in enumerate(zip(details, groups, strict=True)):
        columns = slice(start, start + len(group.tags))
        start = columns.stop
        what = f"input {position} ({detail['name']})"
        dtype = _tensor_type(file, what, detail, group.dtype, declared_by)
        shape = tuple(int(d) for d in detail["shape"])
        _check_input_shape(file, what, shape, group)
        offset = factor = None
        if config.normalize is not None:
            offset = np.asarray(offsets[columns], dtype=np.float64)
            factor = np.asarray(factors[columns], dtype=np.float64)
        buffer = np.zeros(shape, dtype=dtype)
        rows = buffer.reshape(group.window, len(group.tags))
        multiplier, addend = _affine(offset, factor)
        scratch = None
        limits = (0, 0)
        if dtype != np.float32:
            scale, zero_point = _quantization(file, what, detail)
            multiplier = (np.ones(len(group.tags)) if multiplier is None else multiplier) / scale
            addend = (np.zeros(len(group.tags)) if addend is None else addend) / scale + zero_point
            scratch = np.zeros((group.window, len(group.tags)), dtype=np.float32)
            info = np.iinfo(dtype)
            limits = (int(info.min), int(info.max))
        tensors.append(
            TensorInput(
                index=int(detail["index"]),
                name=str(detail["name"]),
                columns=columns,
                window=group.window,
                buffer=buffer,
                rows=rows,
                multiplier=None if multiplier is None else multiplier.astype(np.float32),
                addend=None if addend is None else addend.astype(np.float32),
                scratch=scratch,
                limits=limits,
            )
        )
    return tensors


def _affine(
    offset: npt.NDArray[np.float64] | None, factor: npt.NDArray[np.float64] | None
) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    """(multiplier, addend) with (x - offset) * factor == x * multiplier + addend; None for none."""
    if offset is None or factor is None:
        return None, None
    return factor, -offset * factor


def _check_input_shape(file: str, what: str, shape: tuple[int, ...], group: ModelInputs) -> None:
    window, tags = group.window, len(group.tags)
    inner = shape[1:]
    while inner and inner[-1] == 1 and len(inner) > 1:
        inner = inner[:-1]  # [1, window, tags, 1], as a 2-D convolution takes it, is the same data
    if shape[:1] == (1,) and inner in ((window, tags), (window * tags,)):
        return
    raise ModelRefused(
        f"{file}: {what} has shape {list(shape)}, expected [1, {window}, {tags}] "
        f"({window} sample{'s' if window != 1 else ''} x {tags} tag{'s' if tags != 1 else ''})"
    )


def _outputs(file: str, details: list[dict[str, Any]]) -> list[TensorOutput]:
    outputs = []
    for position, detail in enumerate(details):
        dtype = np.dtype(detail["dtype"])
        what = f"output {position} ({detail['name']})"
        if dtype not in TENSOR_TYPES:
            raise ModelRefused(f"{file}: {what} has dtype {dtype.name}; the agent reads {_supported()}")
        quantised = dtype != np.float32
        scale, zero_point = _quantization(file, what, detail) if quantised else (1.0, 0)
        shape = tuple(int(d) for d in detail["shape"])
        outputs.append(
            TensorOutput(
                index=int(detail["index"]),
                name=str(detail["name"]),
                shape=shape,
                size=int(np.prod(shape)),
                dtype=dtype,
                quantised=quantised,
                scale=scale,
                zero_point=zero_point,
            )
        )
    return outputs


def _check_outputs(file: str, outputs: list[TensorOutput], config: ModelConfig) -> None:
    declared_by = _declared_by(config, "outputs")
    for mapping in config.outputs:
        if not isinstance(mapping, ScoreOutput | ClassifierOutput):
            continue
        if mapping.output >= len(outputs):
            raise ModelRefused(
                f"{file}: '{mapping.name}' reads output {mapping.output}, "
                f"the model has {_tensors(len(outputs), 'output')}"
            )
        tensor = outputs[mapping.output]
        what = f"output {mapping.output} ({tensor.name})"
        if mapping.dtype is not None and TENSOR_TYPES[tensor.dtype] != mapping.dtype:
            raise ModelRefused(
                f"{file}: {what} has dtype {TENSOR_TYPES[tensor.dtype]}, expected {mapping.dtype} "
                f"(as {declared_by} declares for '{mapping.name}')"
            )
        if isinstance(mapping, ScoreOutput) and mapping.index >= tensor.size:
            raise ModelRefused(
                f"{file}: '{mapping.name}' reads value {mapping.index} of {what}, which has shape "
                f"{list(tensor.shape)}: {_values(tensor.size)}"
            )
        if isinstance(mapping, ClassifierOutput) and len(mapping.classes) != tensor.size:
            raise ModelRefused(
                f"{file}: {what} has shape {list(tensor.shape)}: {_values(tensor.size)}, expected "
                f"{len(mapping.classes)}, one per class of '{mapping.name}' ({', '.join(mapping.classes)})"
            )


def _tensor_type(
    file: str, what: str, detail: dict[str, Any], declared: str | None, declared_by: str
) -> np.dtype[Any]:
    dtype = np.dtype(detail["dtype"])
    if dtype not in TENSOR_TYPES:
        raise ModelRefused(f"{file}: {what} has dtype {dtype.name}; the agent feeds {_supported()}")
    if declared is not None and TENSOR_TYPES[dtype] != declared:
        raise ModelRefused(
            f"{file}: {what} has dtype {TENSOR_TYPES[dtype]}, expected {declared} (as {declared_by} declares)"
        )
    return dtype


def _quantization(file: str, what: str, detail: dict[str, Any]) -> tuple[float, int]:
    scale, zero_point = detail["quantization"]
    if not scale > 0:
        raise ModelRefused(f"{file}: {what} is {np.dtype(detail['dtype']).name} but carries no scale")
    return float(scale), int(zero_point)


def _declared_by(config: ModelConfig, key: str) -> str:
    return "its model card" if config.origins.get(key) == "model card" else "the config"


def _tensors(count: int, kind: str) -> str:
    return f"{count} {kind} tensor" + ("s" if count != 1 else "")


def _values(count: int) -> str:
    return f"{count} value" + ("s" if count != 1 else "")


def _supported() -> str:
    names = list(TENSOR_TYPES.values())
    return ", ".join(names[:-1]) + " or " + names[-1]
