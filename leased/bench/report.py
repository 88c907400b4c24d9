"""Summarise the samples: medians, spreads, ratios, targets; text and JSON.

Every figure of every sample is kept for the JSON output.  The table shows,
per workload and metric, the median over the repetitions of each side and
its spread, written ``+-N%``: half the distance between the smallest and
the largest value, relative to the median.  The ratio is leased's median
over Kea's, and a target is met when that ratio reaches the workload's bound
(at least 1.5 for a rate, at most 0.5 for a latency, and so on).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import attrs

from leased.bench.loadgen import Sample
from leased.bench.runner import Ceiling, Outcome
from leased.bench.workloads import SIDES, Metric

__all__ = ["Row", "Spread", "problems", "rows", "to_json", "to_text"]

_SIDE_TITLES = {"leased": "leased", "kea": "Kea 2.2"}

# A load generator busy for this share of a core or more may have set the
# pace itself; the report then says so.
_SATURATED = 0.9


@attrs.frozen
class Spread:
    """The median of some values and how far they spread around it."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        """Half the range, relative to the median (0.05 means +-5%)."""
        if self.median == 0:
            return 0.0
        return (max(self.values) - min(self.values)) / 2 / self.median


@attrs.frozen
class Row:
    """One line of the table: a workload's metric on both sides."""

    workload: str
    metric: Metric
    sides: dict[str, Spread]
    ratio: float | None
    met: bool | None


def rows(outcomes: Sequence[Outcome]) -> list[Row]:
    """Return the table rows of ``outcomes``, a row per workload metric."""
    table = []
    for outcome in outcomes:
        for metric in outcome.workload.metrics:
            sides = {}
            for side, samples in outcome.samples.items():
                values = [
                    s.figures()[metric.key]
                    for s in samples
                    if metric.key in s.figures()
                ]
                if values:
                    sides[side] = Spread(tuple(values))
            ratio = met = None
            if "leased" in sides and "kea" in sides and sides["kea"].median:
                ratio = sides["leased"].median / sides["kea"].median
                if metric.target is not None and not metric.target.absolute:
                    met = metric.target.met(ratio)
            # A bound on leased's own figure is met with or without Kea.
            absolute = metric.target is not None and metric.target.absolute
            if absolute and metric.target is not None and "leased" in sides:
                met = metric.target.met(sides["leased"].median)
            table.append(Row(outcome.workload.name, metric, sides, ratio, met))
    return table


def _number(value: float) -> str:
    """Show large figures whole and small ones to three significant digits."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _cell(spread: Spread | None) -> str:
    if spread is None:
        return "-"
    return f"{_number(spread.median)} (+-{spread.spread * 100:.0f}%)"


def _table(lines: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return [
        "  ".join(
            cell.ljust(width) for cell, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in lines
    ]


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _cpu_cells(samples: Sequence[Sample]) -> list[str]:
    """Return the CPU columns (medians over ``samples``) of one table line."""
    figures = [s.figures() for s in samples]

    def median(key: str) -> float | None:
        values = [f[key] for f in figures if key in f]
        return statistics.median(values) if values else None

    cells = []
    for key, show in (
        ("rate", lambda v: f"{v:,.0f}"),
        ("client_us", lambda v: f"{v:.1f}"),
        ("client_cpu", _percent),
        ("server_us", lambda v: f"{v:.1f}"),
        ("server_cpu", _percent),
        ("other_cpu", lambda v: f"{v:.2f}"),
    ):
        value = median(key)
        cells.append("-" if value is None else show(value))
    return cells


_CPU_HEADER = [
    "commands/s",
    "client us/cmd",
    "client core",
    "server us/cmd",
    "server core",
    "other cores",
]


def problems(outcomes: Sequence[Outcome]) -> list[str]:
    """Return what went wrong: sides not measured, unexpected answers."""
    found = []
    for outcome in outcomes:
        name = outcome.workload.name
        for side, error in outcome.errors.items():
            found.append(f"{name}: {side} not measured: {error}")
        for side, samples in outcome.samples.items():
            for sample in samples:
                if sample.unexpected:
                    codes = ", ".join(
                        f"result {code}: {n}"
                        for code, n in sorted(sample.results.items())
                    )
                    found.append(
                        f"{name}: {side} gave {sample.unexpected} unexpected answers "
                        f"({codes}; -1 means no or no valid answer)"
                    )
                    break
    return found


def to_text(
    ceiling: Ceiling | None,
    outcomes: Sequence[Outcome],
    facts: dict[str, Any],
) -> str:
    """Render the whole report as text for a terminal.

    Args:
        ceiling: The load generator's ceiling, if measured.
        outcomes: The workloads' outcomes.
        facts: Facts about the run and the machine.

    Returns:
        The report, ending with a newline.
    """
    out = []
    out.append(f"leased-bench {facts.get('date', '')}")
    out.append(f"machine: {facts.get('machine', 'unknown')}")
    out.append(
        f"placement: {facts['placement']}"
        + (
            f" (server on core {facts['server_cpus']}, load generator on core "
            f"{facts['client_cpus']})"
            if "server_cpus" in facts
            else ""
        )
        + (f"; {facts['placement_note']}" if "placement_note" in facts else "")
    )
    plan = facts.get("plan")
    if plan:
        out.append(
            f"plan: {plan['repeat']} timed run{'' if plan['repeat'] == 1 else 's'} "
            f"of {plan['duration']:g} s per server "
            f"after {plan['warmup']:g} s of warm-up, alternating servers; "
            f"{plan['leases']} preloaded leases, {plan['clients']} concurrent "
            f"clients, batches of {plan['batch_size']}; large tables of "
            f"{plan['big']} leases, get-all and wipe on {plan['mid']}, pages of "
            f"{plan['page']}"
        )
    out.append(f"leased: {facts.get('leased_version', 'unknown version')}")
    if "kea_missing" in facts:
        out.append(f"Kea: not measured: {facts['kea_missing']}; leased only")
    elif "kea_version" in facts:
        out.append(f"Kea: {facts['kea_version']}")
    out.append("")

    # The table proper.
    lines = [
        [
            "workload",
            "figure",
            "unit",
            "leased median",
            "Kea median",
            "ratio",
            "target",
            "met",
        ]
    ]
    for row in rows(outcomes):
        target = row.metric.target.text() if row.metric.target else "-"
        if row.met is None:
            met = "-" if row.metric.target is None else "n/a"
        else:
            met = "yes" if row.met else "no"
        lines.append(
            [
                row.workload,
                row.metric.label,
                row.metric.unit,
                _cell(row.sides.get("leased")),
                _cell(row.sides.get("kea")),
                "-" if row.ratio is None else f"{row.ratio:.2f}",
                target,
                met,
            ]
        )
    out.extend(_table(lines))
    out.append("")
    out.append(
        "spread: half the range of the repetitions, relative to the median; "
        "ratio: leased median / Kea median"
    )
    out.append("")

    # What set the pace: CPU per command on each side, and how busy the
    # rest of the machine was meanwhile.
    out.append("CPU time per command and share of a core (medians):")
    lines = [["workload", "server", *_CPU_HEADER]]
    saturated = []
    for outcome in outcomes:
        if not outcome.workload.per_command:
            continue
        for side in SIDES:
            samples = outcome.samples.get(side)
            if not samples:
                continue
            lines.append(
                [outcome.workload.name, _SIDE_TITLES[side], *_cpu_cells(samples)]
            )
            if max(s.client_cpu for s in samples) >= _SATURATED:
                saturated.append(f"{outcome.workload.name} ({side})")
    if ceiling is not None:
        lines.append(["stand-in, 1 client", "trivial", *_cpu_cells([ceiling.one_shot])])
        lines.append(
            [
                f"stand-in, {facts.get('clients', '?')} clients",
                "trivial",
                *_cpu_cells([ceiling.concurrent]),
            ]
        )
    out.extend(f"  {line}" for line in _table(lines))
    out.append("")

    # The large-table workloads time one operation each: how busy were the
    # server (or compactor) and the rest of the machine while it ran.
    lines = [["workload", "server", "seconds", "server core", "other cores"]]
    for outcome in outcomes:
        if outcome.workload.per_command:
            continue
        for side in SIDES:
            samples = outcome.samples.get(side)
            if not samples:
                continue
            lines.append(
                [
                    outcome.workload.name,
                    _SIDE_TITLES[side],
                    f"{statistics.median(s.elapsed for s in samples):.3g}",
                    _percent(statistics.median(s.server_cpu or 0.0 for s in samples)),
                    f"{statistics.median(s.other_cpu for s in samples):.2f}",
                ]
            )
    if len(lines) > 1:
        out.append(
            "Timed operations (medians): length, share of a core the server "
            "(or compactor) used, cores busy elsewhere:"
        )
        out.extend(f"  {line}" for line in _table(lines))
        out.append("")

    out.append(
        "load generator ceiling: the stand-in rows above, a trivial server that "
        "answers without parsing"
    )
    if ceiling is None:
        out.append(f"  not measured: {facts.get('ceiling_error', 'unknown error')}")
    if saturated:
        out.append(
            f"  WARNING: the load generator used {_percent(_SATURATED)} of a core or "
            f"more in: {', '.join(saturated)}; those figures may be the client's"
        )
    else:
        out.append(
            f"  the load generator stayed under {_percent(_SATURATED)} of a core in "
            "every measured run"
        )
    out.append("")

    # Durability and per-side remarks, where a workload has them.
    for outcome in outcomes:
        remarks = []
        if outcome.workload.setup.persist:
            remarks += [
                f"{side} durability: {text}"
                for side, text in outcome.durability.items()
            ]
            remarks += [f"{side}: {text}" for side, text in outcome.checks.items()]
        remarks += [f"{side}: {text}" for side, text in outcome.workload.notes.items()]
        if remarks:
            out.append(f"{outcome.workload.name}:")
            out.extend(f"  {remark}" for remark in remarks)
    found = problems(outcomes)
    if found:
        out.append("")
        out.append("PROBLEMS:")
        out.extend(f"  {problem}" for problem in found)
    return "\n".join(out) + "\n"


def to_json(
    ceiling: Ceiling | None,
    outcomes: Sequence[Outcome],
    facts: dict[str, Any],
) -> dict[str, Any]:
    """Return every figure of the run as JSON-ready data."""
    table: dict[str, dict[str, Any]] = {}
    for row in rows(outcomes):
        table.setdefault(row.workload, {})[row.metric.key] = {
            "label": row.metric.label,
            "unit": row.metric.unit,
            "target": row.metric.target.text() if row.metric.target else None,
            "ratio": row.ratio,
            "met": row.met,
            **{
                side: {
                    "median": spread.median,
                    "spread": spread.spread,
                    "values": list(spread.values),
                }
                for side, spread in row.sides.items()
            },
        }
    return {
        "facts": facts,
        "ceiling": None
        if ceiling is None
        else {
            "one_shot": ceiling.one_shot.as_json(),
            "concurrent": ceiling.concurrent.as_json(),
        },
        "workloads": [
            {
                "name": outcome.workload.name,
                "summary": outcome.workload.summary,
                "setup": attrs.asdict(outcome.workload.setup),
                "notes": dict(outcome.workload.notes),
                "durability": outcome.durability,
                "checks": outcome.checks,
                "errors": outcome.errors,
                "metrics": table.get(outcome.workload.name, {}),
                "samples": {
                    side: [sample.as_json() for sample in samples]
                    for side, samples in outcome.samples.items()
                },
            }
            for outcome in outcomes
        ],
        "problems": problems(outcomes),
    }
