"""Loading a model once in a child process before the agent trusts it.

The TFLite interpreters do not verify a model's flatbuffer: a truncated or corrupted file can crash the
whole process with a segmentation fault inside ``Interpreter(...)`` or ``invoke()`` (seen with
tflite-runtime 2.14). A crash in a throwaway child costs a fraction of a second at load time and turns
into a refusal with a reason, instead of taking the agent down.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str = ""
    sha256: str = ""


def probe_model(path: Path, backend: str | None = None) -> ProbeResult:
    """Load, allocate and invoke the model on zeros in a child; report whether that survived.

    ``backend`` names the interpreter to try it with (as ``interpreter_class`` takes it); None: the default.
    """
    try:
        done = subprocess.run(
            [sys.executable, "-m", "edge_agent.inference.probe", str(path), *([backend] if backend else [])],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"loading it did not finish within {PROBE_TIMEOUT_S:.0f} s")
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return ProbeResult(False, f"the TFLite interpreter crashed ({name}) loading it: the file is corrupt")
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return ProbeResult(False, f"the model check failed: {done.stderr.strip()[-500:]}")
    return ProbeResult(bool(report["ok"]), report.get("reason", ""), report.get("sha256", ""))


def _child(path: Path, backend: str | None) -> dict[str, object]:
    import numpy as np

    from .backend import NoBackendError, interpreter_class

    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    try:
        _, interpreter_cls = interpreter_class(backend)
    except NoBackendError as exc:
        return {"ok": False, "reason": str(exc), "sha256": digest}
    try:
        interpreter = interpreter_cls(model_content=content)
        interpreter.allocate_tensors()
        for detail in interpreter.get_input_details():
            interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
        interpreter.invoke()
    except Exception as exc:
        return {"ok": False, "reason": f"not a valid TFLite model: {exc}", "sha256": digest}
    return {"ok": True, "sha256": digest}


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)))
