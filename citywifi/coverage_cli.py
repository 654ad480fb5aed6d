"""``citywifi coverage``: where the city has working WiFi, where it has none, and where to
build next, from the server's shell.

Run on the server, so it acts for the whole city (the API is where a partner gets its
share). It reads the inventory with :func:`planning.load_inputs` and renders through the
API's own models (:mod:`api.coverage_models`), so ``--json`` here and the API's answer
carry the same fields, rounded the same way. Tables and files go to stdout or ``-o``;
"wrote ..." and notes to stderr, so a script can read the results alone.

Subcommands: ``gaps`` (GeoJSON), ``suggest`` (k new sites), ``whatif`` (sites failing,
removed or added) and ``candidates import|list`` (the places the city could build).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from citywifi.command import run_sync, settings_for
from citywifi.files import write_atomic
from core.errors import ConfigError, PlanningError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.settings import Settings
    from inventory.schemas import CandidateIn
    from planning import Candidate, CoverageInputs, GapKind, NewSite


MAX_K = 100  # as the API's
MAX_ROWS = 5000

coverage_app = typer.Typer(
    help="Coverage per district (designed and live, area and demand); without a "
    "subcommand, the table. Acts for the whole city.",
)
candidates_app = typer.Typer(
    help="The places the city could build new sites: what `coverage suggest` chooses "
    "among (without any, a regular grid over the districts).",
    no_args_is_help=True,
)
coverage_app.add_typer(candidates_app, name="candidates")


class GapKindOption(StrEnum):
    FAULT = "fault"
    DESIGN = "design"


class MethodOption(StrEnum):
    OPTIMAL = "optimal"
    GREEDY = "greedy"


def _with_inputs(
    ctx: typer.Context,
    settings: Settings,
    use: Any,
    *,
    candidates: list[Candidate] | None = None,
    district: str | None = None,
) -> Any:
    """Read the whole city's inputs (one session, closed before the analysis runs) and
    return ``use(inputs)``; a district that does not exist is a one-line error."""
    from sqlalchemy.orm import Session

    from core.access import Scope
    from inventory.db import open_inventory
    from planning import load_inputs

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))

    def run() -> Any:
        with Session(engine) as session:
            inputs = load_inputs(session, Scope(), settings, candidates=candidates)
        if district is not None and all(d.id != district for d in inputs.districts):
            raise PlanningError(f"no district with id {district!r}")
        return use(inputs)

    try:
        return run_sync(ctx, run)
    finally:
        engine.dispose()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _aligned(rows: list[tuple[str, ...]], right: frozenset[int] = frozenset()) -> list[str]:
    """Columns padded to their widest cell (``right``: numbers, aligned right)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def coverage_table(rows: list[Any], city: Any) -> list[str]:
    """A header, a line per district and the city's line (``CoverageRow`` values)."""
    table: list[tuple[str, ...]] = [
        ("DISTRICT", "NAME", "DESIGNED %", "LIVE %", "DEMAND %", "LIVE DEMAND %", "SITES LIVE")
    ]
    for row in [*rows, city]:
        table.append(
            (
                row.district if row.district is not None else "city",
                row.name,
                _pct(row.designed_pct),
                _pct(row.live_pct),
                _pct(row.demand_pct),
                _pct(row.live_demand_pct),
                f"{row.sites_live}/{row.sites}",
            )
        )
    return _aligned(table, right=frozenset({2, 3, 4, 5, 6}))


@coverage_app.callback(invoke_without_command=True)
def coverage(
    ctx: typer.Context,
    district: Annotated[str | None, typer.Option(help="Only this district (its id).")] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="A JSON list, one object per district: district (id), name, designed_pct, "
            "live_pct, demand_pct, live_demand_pct (0-100), areas, demand, sites.",
        ),
    ] = False,
) -> None:
    """Coverage per district and citywide: designed (active sites), live (sites with an AP
    up now), and the share of demand within reach."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_for(ctx)
    from api.coverage_models import coverage_public
    from planning import coverage_report

    def use(inputs: CoverageInputs) -> Any:
        return coverage_public(
            coverage_report(inputs),
            district=district,
            partner=False,
            live_as_of=inputs.notes.get("live_as_of"),
        )

    found = _with_inputs(ctx, settings, use, district=district)
    if as_json:
        typer.echo(json.dumps([row.model_dump(mode="json") for row in found.data], indent=2))
        return
    for line in coverage_table(found.data, found.city):
        typer.echo(line)
    if found.live_as_of is None:
        typer.echo("no AP has been polled yet: live coverage is 0", err=True)


@coverage_app.command("gaps")
def gaps(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            dir_okay=False,
            help="Write the GeoJSON here (atomically); default stdout.",
        ),
    ] = None,
    kind: Annotated[
        GapKindOption | None,
        typer.Option(help="fault: lost because sites are down now; design: no site reaches."),
    ] = None,
    district: Annotated[str | None, typer.Option(help="Only this district's gaps.")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=MAX_ROWS, help="At most this many gaps.")
    ] = None,
) -> None:
    """Uncovered areas as a GeoJSON FeatureCollection, most unserved demand first."""
    settings = settings_for(ctx)
    from api.coverage_models import gaps_public
    from planning import find_gaps

    wanted: GapKind | None = None if kind is None else kind.value

    def use(inputs: CoverageInputs) -> Any:
        return gaps_public(find_gaps(inputs, kind=wanted, district=district, limit=limit))

    found = _with_inputs(ctx, settings, use, district=district)
    text = json.dumps(found.model_dump(mode="json"), separators=(",", ":")) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    run_sync(ctx, lambda: write_atomic(output, text))
    typer.echo(
        f"wrote {found.count} gaps to {output} (fault: {found.fault_area_m2 / 1e6:.3f} km², "
        f"{found.fault_demand:g} people; design: {found.design_area_m2 / 1e6:.3f} km², "
        f"{found.design_demand:g} people)",
        err=True,
    )


def _candidate(item: CandidateIn, radius_m: float) -> Candidate:
    """A candidate of the file as the analysis takes it; no radius of its own: the
    setting's (as for the stored ones)."""
    from planning import Candidate

    radius = item.coverage_radius_m if item.coverage_radius_m is not None else radius_m
    return Candidate(id=item.id, name=item.name, lat=item.lat, lon=item.lon, radius_m=radius)


@coverage_app.command("suggest")
def suggest(
    ctx: typer.Context,
    k: Annotated[int, typer.Option("-k", min=1, max=MAX_K, help="How many new sites.")] = 10,
    method: Annotated[
        MethodOption, typer.Option(help="optimal: the exact MILP (greedy beside it); greedy.")
    ] = MethodOption.OPTIMAL,
    candidates: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Candidate places (CSV or GeoJSON) instead of the imported ones.",
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            max=3600.0,
            help="Longest the solver may run, seconds "
            "[default: the coverage_solver_time_limit_s setting].",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The API's JSON instead.")] = False,
) -> None:
    """Choose k new sites among the candidates that add the most covered demand."""
    settings = settings_for(ctx)
    from api.coverage_models import suggestions_public
    from inventory.candidates import read_candidates
    from planning import suggest as planning_suggest

    given: list[Candidate] | None = None
    if candidates is not None:
        path = candidates
        items = run_sync(ctx, lambda: read_candidates(path))
        given = [_candidate(item, settings.coverage_candidate_radius_m) for item in items]
    limit_s = time_limit if time_limit is not None else settings.coverage_solver_time_limit_s

    def use(inputs: CoverageInputs) -> Any:
        return suggestions_public(
            planning_suggest(inputs, k=k, method=method.value, time_limit_s=limit_s)
        )

    found = _with_inputs(ctx, settings, use, candidates=given)
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json"), indent=2))
        return
    table: list[tuple[str, ...]] = [
        ("#", "CANDIDATE", "NAME", "LAT", "LON", "RADIUS M", "ADDS", "ALONE")
    ]
    for n, site in enumerate(found.sites, start=1):
        table.append(
            (
                str(n), site.candidate, site.name, f"{site.lat:.6f}", f"{site.lon:.6f}",
                f"{site.radius_m:g}", f"{site.added_demand:g}", f"{site.alone_demand:g}",
            )
        )  # fmt: skip
    for line in _aligned(table, right=frozenset({0, 3, 4, 5, 6, 7})):
        typer.echo(line)
    typer.echo(
        f"{found.method} ({found.status}): adds {found.added_demand:g} of "
        f"{found.demand_total:g} people; covered {_pct(found.covered_before_pct)} % -> "
        f"{_pct(found.covered_after_pct)} %; {found.candidates} {found.candidate_source} "
        f"candidates; {found.solve_s:.2f} s"
    )
    if found.gap_pct is not None:
        typer.echo(
            f"greedy {found.greedy_demand:g} vs optimal {found.optimal_demand:g}: "
            f"gap {found.gap_pct:.2f} %"
        )
    if found.status == "time_limit":
        typer.echo(
            f"the solver ran out of time: best found given; no answer adds more than "
            f"{found.bound:g}",
            err=True,
        )


def _ids(text: str | None) -> list[str]:
    return [] if text is None else [part.strip() for part in text.split(",") if part.strip()]


def parse_new_site(text: str, n: int, radius_m: float) -> NewSite:
    """``LAT,LON[,RADIUS_M]`` as a new site ``new-<n>``; ConfigError naming --add."""
    from planning import NewSite

    parts = [part.strip() for part in text.split(",")]
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        lat, lon = float(parts[0]), float(parts[1])
        radius = float(parts[2]) if len(parts) == 3 else radius_m
    except ValueError:
        raise ConfigError(f"--add: expected LAT,LON[,RADIUS_M], got {text!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < radius <= 5000):
        raise ConfigError(f"--add: {text!r} is off the globe or its radius not in (0, 5000]")
    return NewSite(id=f"new-{n}", lat=lat, lon=lon, radius_m=radius)


@coverage_app.command("whatif")
def whatif(
    ctx: typer.Context,
    fail: Annotated[
        str | None,
        typer.Option(metavar="IDS", help="Sites failing (comma-separated): built, not live."),
    ] = None,
    remove: Annotated[
        str | None, typer.Option(metavar="IDS", help="Sites taken out (comma-separated).")
    ] = None,
    add: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LAT,LON[,RADIUS_M]",
            help="A new site LAT,LON[,RADIUS_M] (repeat for more; default radius: "
            "the coverage_candidate_radius_m setting).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The API's JSON instead.")] = False,
) -> None:
    """Coverage with sites failing, removed or added, against coverage now: which districts
    change and how much demand loses (or gains) service."""
    settings = settings_for(ctx)
    from api.coverage_models import whatif_public
    from planning import what_if

    failing, removing = _ids(fail), _ids(remove)

    def read() -> list[NewSite]:
        new = [
            parse_new_site(text, n, settings.coverage_candidate_radius_m)
            for n, text in enumerate(add or [], start=1)
        ]
        if not (failing or removing or new):
            raise ConfigError("give at least one of --fail, --remove and --add")
        return new

    adding = run_sync(ctx, read, status=2)

    def use(inputs: CoverageInputs) -> Any:
        return whatif_public(what_if(inputs, remove=removing, add=adding, fail=failing))

    found = _with_inputs(ctx, settings, use)
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json"), indent=2))
        return
    table: list[tuple[str, ...]] = [
        ("DISTRICT", "NAME", "LIVE %", "AFTER", "LIVE DEMAND %", "AFTER", "LOSES", "GAINS")
    ]
    for row in [*found.districts, found.city]:
        table.append(
            (
                row.district if row.district is not None else "city",
                row.name,
                _pct(row.live_pct_before),
                _pct(row.live_pct_after),
                _pct(row.live_demand_pct_before),
                _pct(row.live_demand_pct_after),
                f"{row.demand_lost:g}",
                f"{row.demand_gained:g}",
            )
        )
    for line in _aligned(table, right=frozenset({2, 3, 4, 5, 6, 7})):
        typer.echo(line)
    typer.echo(
        f"{found.lost_points} demand points ({found.demand_lost:g} people) lose service, "
        f"{found.demand_gained:g} people gain it"
    )


@candidates_app.command("import")
def candidates_import(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV (id,name,lat,lon[,kind][,coverage_radius_m]) or GeoJSON Points.",
        ),
    ],
) -> None:
    """Replace the stored candidate places with the file's (all or none)."""
    from citywifi.users_cli import audited, in_transaction
    from core.access import AuditAction
    from inventory.candidates import read_candidates, replace_candidates

    items = run_sync(ctx, lambda: read_candidates(file))

    def body(session: Session) -> int:
        stored = replace_candidates(session, items)
        audited(session, AuditAction.CANDIDATES_IMPORTED, str(file), f"{stored} candidate places")
        return stored

    stored = in_transaction(ctx, body)
    typer.echo(f"imported {stored} candidate places from {file} (the previous list replaced)")


@candidates_app.command("list")
def candidates_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="At most this many.")] = 100,
) -> None:
    """The stored candidate places, by id."""
    settings = settings_for(ctx)
    from citywifi.users_cli import in_transaction
    from inventory.candidates import stored_candidates

    items = in_transaction(ctx, stored_candidates)
    if not items:
        typer.echo("no candidate places: suggestions use a grid over the districts", err=True)
        return
    table: list[tuple[str, ...]] = [("ID", "NAME", "LAT", "LON", "KIND", "RADIUS M")]
    default = f"{settings.coverage_candidate_radius_m:g} (setting)"
    for item in items[:limit]:
        radius = default if item.coverage_radius_m is None else f"{item.coverage_radius_m:g}"
        table.append(
            (
                item.id,
                item.name,
                f"{item.lat:.6f}",
                f"{item.lon:.6f}",
                str(item.kind) if item.kind else "-",
                radius,
            )
        )
    for line in _aligned(table, right=frozenset({2, 3})):
        typer.echo(line)
    if len(items) > limit:
        typer.echo(f"showing {limit} of {len(items)} (--limit)", err=True)
