"""Models bundled with edge-agent: ``.tflite`` files, each with a ``<name>.card.yaml`` beside it."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR: Path = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """The path of the bundled file ``name`` (e.g. ``"pump_anomaly.tflite"``).

    Raises ValueError for a name that is not a plain file name, FileNotFoundError if no such file is
    bundled.
    """
    if not name or Path(name).name != name or name in {".", ".."}:
        raise ValueError(f"not a bundled model file name: {name!r}")
    path = MODELS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"no bundled model file {name!r} in {MODELS_DIR}")
    return path
