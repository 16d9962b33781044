"""Certificate serial numbers as people read them: upper-case hex, as `openssl x509 -serial` prints."""

from __future__ import annotations

import re

from .errors import InputError

_HEX = re.compile(r"[0-9A-Fa-f]+")


def format_serial(serial: int) -> str:
    """Hex in whole bytes, as openssl prints serials (a leading zero nibble is written)."""
    digits = f"{serial:X}"
    return digits.zfill(len(digits) + len(digits) % 2)


def parse_serial(text: str) -> int:
    """A serial in hex, with or without ``0x`` and the colons some tools print between bytes."""
    digits = text.strip().removeprefix("0x").removeprefix("0X").replace(":", "")
    if not _HEX.fullmatch(digits):
        raise InputError(f"{text!r} is neither a certificate file nor a serial number in hex")
    return int(digits, 16)
