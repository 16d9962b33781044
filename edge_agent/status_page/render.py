"""The status page as HTML: complete without JavaScript; page.js only makes it live.

Everything the agent names (tags, sources, descriptions) is escaped. No inline script or style: the
content security policy forbids both.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from .model import IdentitySummary, ModelRow, PageModel, SourceRow, TagRow

STATIC = "/status/static"
LOGOUT = "/status/logout"
TAGS = "/status/tags"
DIAGNOSTICS = "/status/diagnostics.json"
EVENTS = "/status/events"
HISTORY = "/status/history"
IDENTITY_WARNING_DAYS = 30
PLOT_WIDTH, PLOT_HEIGHT = 120, 24


def page(
    model: PageModel, *, user: str, can_diagnose: bool, csrf: str | None = None, can_write: bool = False
) -> str:
    """The page for ``user``; ``csrf`` is their session's token (signed in with the form), and the
    writable tags get controls only when they also ``can_write``."""
    healthy = all(source.up for source in model.sources) and all(m.state == "loaded" for m in model.models)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>edge-agent: {escape(model.status)}</title>",
        f'<link rel="stylesheet" href="{STATIC}/page.css">',
        f'<script src="{STATIC}/page.js" defer></script>',
        f'</head><body data-events="{EVENTS}" data-history="{HISTORY}">',
        f'<header class="{"healthy" if healthy else "unhealthy"}">',
        f'<h1>edge-agent <span class="version">{escape(model.version)}</span></h1>',
        f'<p id="status" class="status">{escape(model.status)}</p>',
        f'<p class="meta">up {_duration(model.uptime_s)} · signed in as {escape(user)}'
        f" · as of {model.now.isoformat(timespec='seconds').replace('+00:00', 'Z')}",
        f' · <a href="{DIAGNOSTICS}" download>diagnostics (JSON)</a>' if can_diagnose else "",
        "</p>",
        _sign_out(csrf),
        "</header><main>",
        _identity(model.identity, model),
        _sources(model.sources),
        _models(model.models),
        _tags(model.tags, csrf if can_write else None),
        '</main><dialog id="chart"><h2 id="chart-title"></h2>'
        '<canvas id="chart-canvas" width="720" height="300"></canvas>'
        '<p id="chart-range"></p><form method="dialog"><button>Close</button></form></dialog>',
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def _identity(identity: IdentitySummary | None, model: PageModel) -> str:
    if identity is None:
        return '<section id="identity"><h2>Identity</h2><p>No application certificate yet.</p></section>'
    days = identity.days_left(model.now)
    state = "bad" if days < 0 else ("uncertain" if days < IDENTITY_WARNING_DAYS else "good")
    return (
        '<section id="identity"><h2>Identity</h2><dl>'
        f"<dt>Certificate</dt><dd>{escape(identity.subject)}</dd>"
        f'<dt>Expires</dt><dd class="{state}" id="expiry">'
        f"{identity.not_after.date().isoformat()} ({_days(days)})</dd>"
        f"<dt>Trust list</dt><dd>{identity.trusted} trusted, {identity.issuers} issuers, "
        f"{identity.rejected} rejected</dd></dl></section>"
    )


def _days(days: int) -> str:
    if days < 0:
        return f"expired {-days} days ago"
    return f"in {days} day{'s' * (days != 1)}"


def _sources(sources: Iterable[SourceRow]) -> str:
    rows = [
        f'<tr data-source="{escape(s.name)}"><td>{escape(s.name)}</td><td>{escape(s.driver)}</td>'
        f'<td class="{"good" if s.up else "bad"}">{"up" if s.up else "down"}</td>'
        f"<td>{s.tags}</td><td>{s.good}</td><td>{s.bad}</td>"
        f"<td>{_period(s.poll_s)}</td><td>{escape(s.last_good)}</td>"
        f"<td>{_count(s.cycles)}</td><td>{_count(s.failed_cycles)}</td></tr>"
        for s in sources
    ]
    return _table(
        "sources",
        "Sources",
        (
            "source",
            "driver",
            "state",
            "tags",
            "good",
            "bad",
            "poll",
            "last good read",
            "cycles",
            "failed cycles",
        ),
        rows,
        "No sources.",
    )


def _models(models: Iterable[ModelRow]) -> str:
    rows = []
    for m in models:
        outputs = ", ".join(
            f'<span class="{o.severity}" data-tag="{escape(o.name)}">{escape(o.name)} = '
            f'<span class="value">{escape(o.value)}</span></span>'
            for o in m.outputs
        )
        state = escape(m.state) + (f": {escape(m.refusal)}" if m.refusal else "")
        latency = "" if m.latency_p99_ms is None else f"{m.latency_p99_ms:.2f} ms"
        rows.append(
            f'<tr data-model="{escape(m.name)}"><td>{escape(m.name)}</td>'
            f'<td class="{"good" if m.state == "loaded" else "bad"}">{state}</td><td>{outputs}</td>'
            f"<td>{m.invocations}</td><td>{latency}</td><td>{m.overruns}</td><td>{m.failures}</td></tr>"
        )
    return _table(
        "models",
        "Models",
        ("model", "state", "outputs", "inferences", "latency p99", "overruns", "failures"),
        rows,
        "No models.",
    )


def _sign_out(csrf: str | None) -> str:
    if csrf is None:
        return ""
    return (
        f'<form method="post" action="{LOGOUT}" class="sign-out">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}"><button>Sign out</button></form>'
    )


def _control(row: TagRow, csrf: str | None) -> str:
    """A writable tag's control: a switch for a boolean, a field for others; nothing without rights."""
    if csrf is None:
        return ""
    if not row.writable:
        return "<td></td>"
    hidden = f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
    if row.data_type == "bool":
        target = "false" if row.value == "true" else "true"
        label = "off" if target == "false" else "on"
        field = f'<input type="hidden" name="value" value="{target}"><button>switch {label}</button>'
    else:
        field = (
            f'<input name="value" value="{escape(row.value)}" size="8" '
            f'aria-label="new value of {escape(row.name)}"><button>set</button>'
        )
    return (
        f'<td><form method="post" action="{TAGS}/{escape(row.name)}" class="write" '
        f'data-type="{row.data_type}">{hidden}{field}<span class="result"></span></form></td>'
    )


def _tags(tags: Iterable[TagRow], csrf: str | None = None) -> str:
    rows = [
        f'<tr data-tag="{escape(t.name)}"{_plot_seed(t)}>'
        f'<td title="{escape(t.description)}">{escape(t.name)}</td>'
        f'<td>{escape(t.source)}</td><td class="value">{escape(t.value)}</td><td>{escape(t.unit)}</td>'
        f'<td class="quality {t.severity}">{t.quality.name}</td>'
        f'<td class="time">{escape(t.source_time)}</td>'
        f'<td class="plot"><canvas width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}" '
        f'aria-label="{escape(t.name)}, last 10 minutes"></canvas></td>{_control(t, csrf)}</tr>'
        for t in tags
    ]
    headings: tuple[str, ...] = ("tag", "source", "value", "unit", "quality", "source time", "last 10 min")
    if csrf is not None:
        headings += ("switch",)
    table = _table("tags", "Tags", headings, rows, "No tags.")
    # The filter needs page.js; hidden until it runs, so a page without scripts shows no dead control.
    search = (
        '<p><input id="filter" type="search" placeholder="filter tags" aria-label="filter tags" hidden></p>'
    )
    return table.replace("<h2>Tags</h2>", f"<h2>Tags</h2>{search}", 1)


def _plot_seed(row: TagRow) -> str:
    """The reading the plot starts from before any history or update arrives (the value holds till then)."""
    if row.number is None or row.time_ms is None:
        return ""
    return f' data-number="{row.number!r}" data-time="{row.time_ms}"'


def _table(section: str, title: str, headings: Iterable[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<section id="{section}"><h2>{title}</h2><p>{empty}</p></section>'
    head = "".join(f"<th>{escape(heading)}</th>" for heading in headings)
    return (
        f'<section id="{section}"><h2>{title}</h2><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _period(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"
