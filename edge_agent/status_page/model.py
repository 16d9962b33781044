"""What the status page shows, gathered from the running agent in one pass.

The page is drawn from the same facts as the OPC UA administration method GetDiagnostics (its JSON is the
page's download), the tag store's current readings and the application certificate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..quality import Quality
from ..tags import Reading, TagInfo


@dataclass(frozen=True)
class IdentitySummary:
    """The application certificate and trust list as a technician checks them."""

    subject: str
    not_after: datetime
    trusted: int
    issuers: int
    rejected: int

    def days_left(self, now: datetime) -> int:
        return math.floor((self.not_after - now).total_seconds() / 86400)


class StatusSource(Protocol):
    """The running agent as the status page reads it."""

    def diagnostics(self) -> dict[str, Any]:
        """The GetDiagnostics answer (versions, status, sources, models, OPC UA, history)."""
        ...

    def tags(self) -> Sequence[TagInfo]: ...

    def readings(self) -> Mapping[str, Reading]:
        """The current reading of every tag, by name."""
        ...

    def identity(self) -> IdentitySummary | None: ...

    def model_outputs(self) -> Mapping[str, Sequence[str]]:
        """Each model's output tags (its conclusions, not its statistics), by model name."""
        ...

    def status(self) -> str:
        """The status line (as systemd shows it)."""
        ...

    def listen(self, listener: Callable[[Reading], None]) -> Callable[[], None]:
        """Have ``listener`` called with every new reading; returns what stops it."""
        ...

    async def history(self, tag: str, start_ns: int, end_ns: int) -> Sequence[Reading] | None:
        """The recorded readings of ``tag`` in the span; None when the tag is not recorded."""
        ...

    def threshold(self, tag: str) -> float | None:
        """Where an alarm of a model watching score ``tag`` turns on; None if none does."""
        ...


@dataclass(frozen=True)
class TagRow:
    name: str
    source: str
    value: str
    unit: str
    quality: Quality
    source_time: str
    writable: bool
    data_type: str
    description: str
    number: float | None = None
    """The value as a plot draws it (booleans 0 and 1); None for text, nothing, or a Bad reading."""
    time_ms: int | None = None

    @property
    def severity(self) -> str:
        """good, uncertain or bad: the colour a technician reads first."""
        if self.quality.is_good:
            return "good"
        return "bad" if self.quality.is_bad else "uncertain"


@dataclass(frozen=True)
class SourceRow:
    name: str
    driver: str
    tags: int
    good: int
    bad: int
    cycles: int | None
    failed_cycles: int | None
    poll_s: float | None = None
    last_good: str = ""
    """When the source last read all of its devices (ISO 8601, UTC); empty if never or not known."""

    @property
    def up(self) -> bool:
        return self.bad == 0


@dataclass(frozen=True)
class ModelRow:
    name: str
    state: str
    invocations: int
    overruns: int
    failures: int
    latency_p99_ms: float | None
    refusal: str | None
    outputs: tuple[TagRow, ...]


@dataclass(frozen=True)
class PageModel:
    status: str
    uptime_s: float
    version: str
    sources: tuple[SourceRow, ...]
    models: tuple[ModelRow, ...]
    tags: tuple[TagRow, ...]
    identity: IdentitySummary | None
    now: datetime


def collect(source: StatusSource, *, now: datetime | None = None) -> PageModel:
    """The page's model of ``source`` as it is now."""
    diagnostics = source.diagnostics()
    readings = source.readings()
    rows = tuple(tag_row(info, readings.get(info.name)) for info in source.tags())
    by_name = {row.name: row for row in rows}
    outputs = {
        model: [by_name[name] for name in names if name in by_name]
        for model, names in source.model_outputs().items()
    }
    return PageModel(
        status=str(diagnostics.get("status", "")),
        uptime_s=float(diagnostics.get("uptime_s", 0.0)),
        version=str(diagnostics.get("versions", {}).get("edge-agent", "")),
        sources=tuple(_source_row(entry) for entry in diagnostics.get("sources", ())),
        models=tuple(
            _model_row(entry, outputs.get(entry["name"], [])) for entry in diagnostics.get("models", ())
        ),
        tags=rows,
        identity=source.identity(),
        now=now or datetime.now(UTC),
    )


def health_rows(diagnostics: Mapping[str, Any]) -> tuple[tuple[SourceRow, ...], tuple[ModelRow, ...]]:
    """Each source's and model's row of ``diagnostics``, models without their outputs (the live
    updates carry those as tags)."""
    return (
        tuple(_source_row(entry) for entry in diagnostics.get("sources", ())),
        tuple(_model_row(entry, ()) for entry in diagnostics.get("models", ())),
    )


def tag_row(info: TagInfo, reading: Reading | None) -> TagRow:
    quality = reading.quality if reading is not None else Quality.BadWaitingForInitialData
    value = reading.value if reading is not None else None
    stamp = _iso(reading.source_time_ns) if reading is not None else ""
    return TagRow(
        name=info.name,
        source=info.source,
        value=format_value(value),
        unit=info.unit or "",
        quality=quality,
        source_time=stamp,
        writable=info.writable,
        data_type=info.data_type,
        description=info.description,
        number=plotted(reading),
        time_ms=reading.source_time_ns // 1_000_000 if reading is not None else None,
    )


def plotted(reading: Reading | None) -> float | None:
    """What a plot draws for ``reading``: numbers, booleans as 0 and 1; a gap for text, nothing or Bad."""
    if reading is None or reading.quality.is_bad:
        return None
    value = reading.value
    return None if value is None or isinstance(value, str) else float(value)


def format_value(value: object) -> str:
    """A value as the table shows it: floats to four significant digits, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _source_row(entry: Mapping[str, Any]) -> SourceRow:
    qualities: Mapping[str, int] = entry.get("qualities", {})
    good = sum(count for name, count in qualities.items() if Quality[name].is_good)
    bad = sum(count for name, count in qualities.items() if Quality[name].is_bad)
    devices = entry.get("devices")
    cycles = failed = None
    poll_s: float | None = None
    last_good = ""
    if isinstance(devices, list) and devices:
        cycles = sum(int(device.get("cycles", 0)) for device in devices)
        failed = sum(int(device.get("failed_cycles", 0)) for device in devices)
        periods = [float(device["poll_s"]) for device in devices if device.get("poll_s") is not None]
        poll_s = min(periods) if periods else None
        stamps = [int(device["last_good_ns"]) for device in devices if device.get("last_good_ns") is not None]
        # The source is as fresh as its stalest device.
        if stamps and len(stamps) == len(devices):
            last_good = _iso(min(stamps))
    return SourceRow(
        name=str(entry["name"]),
        driver=str(entry.get("driver", "")),
        tags=int(entry.get("tags", 0)),
        good=good,
        bad=bad,
        cycles=cycles,
        failed_cycles=failed,
        poll_s=poll_s,
        last_good=last_good,
    )


def _model_row(entry: Mapping[str, Any], outputs: Sequence[TagRow]) -> ModelRow:
    latency = entry.get("latency_ms")
    return ModelRow(
        name=str(entry["name"]),
        state=str(entry.get("state", "")),
        invocations=int(entry.get("invocations", 0)),
        overruns=int(entry.get("overruns", 0)),
        failures=int(entry.get("failures", 0)),
        latency_p99_ms=float(latency["p99"]) if isinstance(latency, Mapping) else None,
        refusal=entry.get("refusal"),
        outputs=tuple(outputs),
    )


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
