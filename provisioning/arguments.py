"""Argument types the command line's parsers share."""

from __future__ import annotations

import argparse


def positive(text: str) -> int:
    """A whole number of at least 1, or argparse's usage error saying why not."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value
