"""Keeping the process's floating-point mode across the import of a TFLite interpreter.

tflite-runtime's aarch64 wheel is built with fast-math start-up code: importing it switches the importing
thread to flush-to-zero (FPCR.FZ), so from then on every subnormal float in the process, Python's own
arithmetic included, becomes 0. A Modbus float32 register pair holding a subnormal would read as 0 and
write back changed. The x86-64 wheels do not do this. The mode is saved before the import and put back
after it; threads started later inherit the restored one.

The C library's fegetenv/fesetenv are called through ctypes: Python and numpy expose no way to read or
set the floating-point environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import struct
from collections.abc import Iterator
from functools import cache

log = logging.getLogger(__name__)

# fenv_t is 8 bytes on aarch64 and 32 on x86-64; a larger buffer holds any glibc or musl layout.
_FENV_BYTES = 256


@cache
def _libm() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    try:
        libm = ctypes.CDLL(name)
        libm.fegetenv.argtypes = libm.fesetenv.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return libm


def flushes_subnormals() -> bool:
    """True if this thread's float arithmetic turns subnormal numbers into zero."""
    smallest_float32 = struct.unpack("<f", struct.pack("<I", 1))[0]
    return smallest_float32 == 0.0 or 5e-324 * 1.0 == 0.0


def environment() -> bytes | None:
    """This thread's floating-point environment (opaque bytes), or None where it cannot be read."""
    libm = _libm()
    if libm is None:
        return None
    buffer = ctypes.create_string_buffer(_FENV_BYTES)
    return buffer.raw if libm.fegetenv(buffer) == 0 else None


def set_environment(saved: bytes) -> bool:
    """Make ``saved`` (from :func:`environment`) this thread's floating-point environment again."""
    libm = _libm()
    return libm is not None and libm.fesetenv(ctypes.create_string_buffer(saved, _FENV_BYTES)) == 0


@contextlib.contextmanager
def kept(what: str) -> Iterator[None]:
    """Run the block, then put this thread's floating-point environment back as it was before it."""
    saved = environment()
    flushed_before = flushes_subnormals()
    try:
        yield
    finally:
        if saved is not None and environment() != saved:
            changed_to_flush = flushes_subnormals() and not flushed_before
            if set_environment(saved) and changed_to_flush:
                log.debug("%s switched this process to flush-to-zero; switched back", what)
