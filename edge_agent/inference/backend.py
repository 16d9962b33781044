"""Finding a TFLite interpreter: tflite-runtime, else ai-edge-litert, else full TensorFlow."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import struct
import sys
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
        f"no TFLite interpreter is installed: {install_advice()}. Tried: " + "; ".join(tried)
    )


def installed_backends() -> list[str]:
    """The interpreters this Python could import (found, not imported: importing one takes a second)."""
    found = []
    for name, _ in BACKENDS:
        with contextlib.suppress(ImportError, ValueError):
            if importlib.util.find_spec(name) is not None:
                found.append(name)
    return found


def install_advice(version: tuple[int, int] | None = None, pointer_bytes: int | None = None) -> str:
    """What to install for this Python (``version``) on this machine (``pointer_bytes``: 4 on 32-bit)."""
    version = version or (sys.version_info.major, sys.version_info.minor)
    # A 32-bit system on a 64-bit kernel (Raspberry Pi OS 32-bit on a Pi 4) says aarch64 in uname, so the
    # pointer size of this Python tells.
    if (pointer_bytes or struct.calcsize("P")) == 4:
        if version >= (3, 12):
            return (
                "neither tflite-runtime nor ai-edge-litert is built for 32-bit ARM with Python 3.12 or "
                "later; on-device inference needs a 64-bit OS here (Raspberry Pi OS 64-bit)"
            )
        return "install 'tflite-runtime' 2.14 (built for 32-bit ARM with Python 3.11) with numpy<2"
    return "install 'tflite-runtime' (Python <= 3.11, with numpy<2) or 'ai-edge-litert' (Python >= 3.12)"
