"""Finding a TFLite interpreter: tflite-runtime, else ai-edge-litert, else full TensorFlow."""

from __future__ import annotations

import importlib
from typing import Any

from . import float_mode

# Order matters: tflite-runtime is the small wheel for Python <= 3.11 (2.4 MB, needs numpy<2);
# ai-edge-litert is its successor for newer Pythons and numpy 2; TensorFlow is a last resort.
BACKENDS = (
    ("tflite_runtime", "tflite_runtime.interpreter"),
    ("ai_edge_litert", "ai_edge_litert.interpreter"),
    ("tensorflow", "tensorflow.lite"),
)


class NoBackendError(RuntimeError):
    pass


def interpreter_class(preferred: str | None = None) -> tuple[str, Any]:
    """The (backend name, Interpreter class) to run models with."""
    tried: list[str] = []
    for name, module_name in BACKENDS:
        if preferred and name != preferred:
            continue
        try:
            with float_mode.kept(f"importing {module_name}"):
                module = importlib.import_module(module_name)
        except ImportError as exc:
            tried.append(f"{name} ({exc})")
            continue
        return name, module.Interpreter
    raise NoBackendError(
        "no TFLite interpreter is installed; install 'tflite-runtime' (Python <= 3.11, with numpy<2) or "
        "'ai-edge-litert' (Python >= 3.12). Tried: " + "; ".join(tried)
    )
