"""The `ondol` command line (typer): run the whole stack, or one process, migrate, simulate, register."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer

from ondol.local_replication import ReplicatedPostgres
from ondol.local_servers import ServerError
from ondol.settings import InvalidSettingsError, Settings, load_settings
from telemetry.database import STORE_UNAVAILABLE, connect

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Ondol: remote care for connected boilers."
)
devices_app = typer.Typer(no_args_is_help=True, help="The device registry.")
app.add_typer(devices_app, name="devices")
campaign_app = typer.Typer(no_args_is_help=True, help="Pre-season (B/S) inspection campaigns.")
app.add_typer(campaign_app, name="campaign")
forecasts_app = typer.Typer(no_args_is_help=True, help="Weather forecasts and cold-wave advisories.")
app.add_typer(forecasts_app, name="forecasts")
db_app = typer.Typer(
    no_args_is_help=True, help="The private primary and standbys of `ondol up --replicas N`."
)
app.add_typer(db_app, name="db")

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="postgresql://… (default: ONDOL_DATABASE_URL)")
]
MqttUrl = Annotated[str | None, typer.Option("--mqtt-url", help="mqtt://host:port (default: ONDOL_MQTT_URL)")]


_OPTIONS = {
    "database_url": "--database-url", "mqtt_url": "--mqtt-url", "sim_devices": "--devices",
    "sim_report_interval_s": "--interval", "sim_seed": "--seed", "sim_prefix": "--prefix",
    "pg_replicas": "--replicas",
}  # fmt: skip
"""The settings the commands' options override, and the option that does it (for error messages)."""


def _settings(**overrides: Any) -> Settings:
    """The settings, or exit 2 with one line per bad ONDOL_* variable or option."""
    try:
        return load_settings({k: v for k, v in overrides.items() if v is not None}, _OPTIONS)
    except InvalidSettingsError as exc:
        _fail(2, "invalid settings:", *exc.problems)


def _fail(code: int, *lines: str) -> NoReturn:
    """Print `lines` on stderr (the first as a heading, the rest indented) and exit with `code`."""
    head, *rest = lines
    typer.echo(head, err=True)
    for line in rest:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(code)


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # While the database is down, asyncpg's pool logs a full traceback every time it fails to refill
    # its minimum of connections; our own retry loops already say, in one line, that the store is away.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)


@app.command()
def up(
    database_url: DatabaseUrl = None,
    mqtt_url: MqttUrl = None,
    devices: Annotated[int | None, typer.Option(help="simulated boilers (default 200)")] = None,
    interval: Annotated[float | None, typer.Option(help="simulated report interval, seconds")] = None,
    replicas: Annotated[
        int | None, typer.Option(help="synchronous standbys of the private database (default 0: one cluster)")
    ] = None,
) -> None:
    """Run broker, database, gateway, diagnostics, API and a simulated fleet until Ctrl-C."""
    from ondol.local_stack import up as run_up

    settings = _settings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        sim_devices=devices,
        sim_report_interval_s=interval,
        pg_replicas=replicas,
    )
    try:
        run_up(settings)
    except ServerError as exc:
        typer.echo(f"[ondol] cannot start: {exc}", err=True)
        raise typer.Exit(1) from exc


Node = Annotated[str, typer.Argument(help="node0, node1, ... (see `ondol db status`)")]


def _replicated() -> ReplicatedPostgres:
    """The replicated set of `ondol up --replicas N` (ONDOL_PG_REPLICAS says N), roles read from the nodes."""
    from ondol.local_stack import local_replicated

    settings = _settings()
    if not settings.pg_replicas:
        _fail(2, "no replicated database: set ONDOL_PG_REPLICAS as for `ondol up --replicas N`")
    replicated = local_replicated(settings)
    roles = replicated.detect_roles()
    primaries = [i for i, role in roles.items() if role == "primary"]
    if len(primaries) == 1:
        replicated.primary = primaries[0]
    return replicated


def _node_index(replicated: ReplicatedPostgres, node: str) -> int:
    names = [replicated.name(i) for i in range(len(replicated.nodes))]
    if node not in names:
        _fail(2, f"no node {node!r}: the nodes are {', '.join(names)}")
    return names.index(node)


@db_app.command("status")
def db_status() -> None:
    """Each node's port and role (primary, standby, down), and what the primary waits for."""
    replicated = _replicated()
    for i, role in replicated.detect_roles().items():
        typer.echo(f"{replicated.name(i)}  {replicated.host}:{replicated.ports[i]}  {role}")
    primary = replicated.nodes[replicated.primary]
    with contextlib.suppress(ServerError):
        typer.echo(
            f"synchronous_standby_names on the primary: {primary.sql('SHOW synchronous_standby_names')!r}"
        )
        typer.echo(primary.sql("SELECT string_agg(application_name || ' ' || state || ' ' || sync_state, '; ') "
                               "FROM pg_stat_replication") or "no standby streaming")  # fmt: skip


@db_app.command("promote")
def db_promote(node: Node) -> None:
    """Fail over: the standby NODE takes writes (its primary is lost). Every process follows by itself
    (their URL names every node); with no other standby left it commits alone until one rejoins."""
    replicated = _replicated()
    index = _node_index(replicated, node)
    try:
        alone = replicated.promote(index)
    except ServerError as exc:
        _fail(1, f"cannot promote {node}: {exc}")
    typer.echo(f"{node} is the primary" + (" (committing alone: no standby streams to it)" if alone else ""))


@db_app.command("rejoin")
def db_rejoin(node: Node) -> None:
    """Bring NODE (a former primary, or a lost standby) back as a standby of the current primary
    (pg_rewind, then streaming); the worker puts synchronous replication back once it streams."""
    replicated = _replicated()
    index = _node_index(replicated, node)
    try:
        replicated.rejoin(index)
    except ServerError as exc:
        _fail(1, f"cannot rejoin {node}: {exc}")
    typer.echo(f"{node} follows {replicated.name(replicated.primary)}")


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Apply pending schema migrations."""
    from ondol.schema import migrate_schema
    from telemetry.edition import detect

    settings = _settings(database_url=database_url)
    dsn = _database_or_local(settings)

    async def run() -> None:
        async with connect(dsn, application_name="ondol-migrate") as conn:
            typer.echo((await detect(conn)).describe())
            applied = await migrate_schema(
                conn, on_apply=lambda m: typer.echo(f"applying {m.version:04d} {m.name}")
            )
            typer.echo(f"schema up to date; {len(applied)} migration(s) applied")

    asyncio.run(run())


def _database_or_local(settings: Settings) -> str:
    if dsn := settings.database_url or _local_database(settings):
        return dsn
    typer.echo("no --database-url and no local cluster (run `ondol up` once)", err=True)
    raise typer.Exit(2)


def _local_database(settings: Settings) -> str | None:
    """The DSN of the cluster `ondol up` made under the state directory; None when there is none."""
    from ondol.local_servers import PostgresServer

    if not (settings.state_dir / "postgres").is_dir():
        return None
    local = PostgresServer(settings.state_dir / "postgres", settings.pg_port, host=settings.pg_host)
    return local.dsn if local.password_file.exists() else None


@app.command()
def gateway(database_url: DatabaseUrl = None, mqtt_url: MqttUrl = None) -> None:
    """Run one gateway process (several may share the load)."""
    from ondol.processes import run_gateway_process

    _logging()
    run_gateway_process(_settings(database_url=database_url, mqtt_url=mqtt_url))


@app.command()
def diagnostics(database_url: DatabaseUrl = None) -> None:
    """Run the diagnostics worker."""
    from ondol.processes import run_diagnostics

    _logging()
    run_diagnostics(_settings(database_url=database_url))


@app.command()
def commands(database_url: DatabaseUrl = None, mqtt_url: MqttUrl = None) -> None:
    """Run the command dispatcher (queued commands to the boilers, over MQTT, never after they expire)."""
    from ondol.processes import run_commands

    _logging()
    run_commands(_settings(database_url=database_url, mqtt_url=mqtt_url))


@app.command()
def webhooks(database_url: DatabaseUrl = None) -> None:
    """Run the webhook delivery worker (signed events to the call center's systems)."""
    from ondol.processes import run_webhooks

    _logging()
    run_webhooks(_settings(database_url=database_url))


@app.command()
def alerts(database_url: DatabaseUrl = None) -> None:
    """Run the customer alert worker (SMS / KakaoTalk Alimtalk, or the sink)."""
    from ondol.processes import run_alerts

    _logging()
    run_alerts(_settings(database_url=database_url))


@app.command("broker-auth")
def broker_auth(
    password_file: Annotated[Path, typer.Option(help="the broker's password_file")],
    acl_file: Annotated[Path, typer.Option(help="the broker's acl_file")],
    broker_pid_file: Annotated[Path, typer.Option(help="the broker's pid_file (SIGHUP reloads it)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Keep a Mosquitto's password and ACL files equal to the broker accounts, reloading it on change."""
    from ondol.broker_auth import AuthFiles
    from ondol.processes import run_broker_auth_process

    _logging()
    files = AuthFiles(password_file=password_file, acl_file=acl_file)
    run_broker_auth_process(_settings(database_url=database_url), files, broker_pid_file)


@app.command()
def api(database_url: DatabaseUrl = None) -> None:
    """Run the HTTP API."""
    from ondol.processes import run_api

    _logging()
    run_api(_settings(database_url=database_url))


@app.command()
def sim(
    devices: Annotated[int | None, typer.Option(help="number of boilers")] = None,
    seed: Annotated[int | None, typer.Option(help="fleet seed")] = None,
    prefix: Annotated[str | None, typer.Option(help="device id prefix")] = None,
    interval: Annotated[float | None, typer.Option(help="simulated seconds between reports")] = None,
    acceleration: Annotated[
        float, typer.Option(help="simulated seconds per real second; 0: as fast as possible")
    ] = 1.0,
    reports: Annotated[int | None, typer.Option(help="reports per device, then stop")] = None,
    duration: Annotated[float | None, typer.Option(help="stop after this many real seconds")] = None,
    register: Annotated[bool, typer.Option(help="register the fleet in the database first")] = True,
    database_url: DatabaseUrl = None,
    mqtt_url: MqttUrl = None,
) -> None:
    """Publish telemetry from a simulated fleet over MQTT."""
    from firmware_sim.runner import FleetRun, FleetStats
    from ondol.fleet_seed import register_sim_fleet
    from ondol.processes import run_simulator

    _logging()
    settings = _settings(
        sim_devices=devices, sim_seed=seed, sim_prefix=prefix, sim_report_interval_s=interval,
        database_url=database_url, mqtt_url=mqtt_url,
    )  # fmt: skip
    if acceleration < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="--acceleration")
    if register:
        dsn = _database_or_local(settings)

        async def seed_registry() -> int:
            async with connect(dsn, application_name="ondol-sim") as conn:
                return await register_sim_fleet(conn, settings)

        typer.echo(f"registered {asyncio.run(seed_registry())} devices", err=True)
    run = FleetRun(
        seed=settings.sim_seed,
        report_interval_s=settings.sim_report_interval_s,
        acceleration=acceleration,
        reports_per_device=reports,
        duration_s=duration,
    )

    def progress(stats: FleetStats) -> None:
        typer.echo(f"published {stats.published}, acknowledged by the broker {stats.acknowledged}", err=True)

    stats = run_simulator(settings, run, progress)
    typer.echo(
        f"done: published {stats.published}, acknowledged {stats.acknowledged}, "
        f"connect failures {stats.connect_failures}",
        err=True,
    )


@campaign_app.command("plan")
def campaign_plan(
    season: Annotated[int, typer.Option(min=2000, max=2100, help="the heating season's year, e.g. 2026")],
    today: Annotated[
        str | None,
        typer.Option(help="plan as of this Korean date, today or later (YYYY-MM-DD; default: today)"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Plan (or re-plan) a season's inspections now, as the daily job does: progress, then a summary.

    Running it again over unchanged data changes nothing; it waits while another planner holds the season.
    When nothing new is planned, the summary says why (the window is over, nobody is at risk, no slot)."""
    from datetime import UTC, date, datetime

    from diagnostics.campaigns.plan import plan_campaign
    from ondol.campaign_report import planning_progress, print_summary
    from telemetry.korean_time import kst_day

    settings = _settings(database_url=database_url)
    real_today = kst_day(datetime.now(UTC))
    try:
        on = date.fromisoformat(today) if today else real_today
    except ValueError as exc:
        _fail(2, f"--today: {exc}")
    if on < real_today:
        _fail(2, f"--today {on} has passed (today is {real_today}, Korean time): a plan as of a past day would "
                 "propose visits on days that are gone and tell the call center about them; give today or a "
                 "later day")  # fmt: skip
    dsn = _database_or_local(settings)

    async def plan() -> Any:
        async with connect(dsn, application_name="ondol-campaign") as conn:
            with planning_progress() as progress:
                return await plan_campaign(conn, season, today=on, config=settings.campaign_config(),
                                           actor="ondol campaign plan", progress=progress)  # fmt: skip

    try:
        report = asyncio.run(plan())
    except ValueError as exc:
        typer.echo(f"cannot plan season {season}: {exc}", err=True)
        raise typer.Exit(2) from exc
    print_summary(report)


@app.command("eval-resets")
def evaluate_remote_resets(
    devices: Annotated[int, typer.Option(min=1, help="simulated boilers")] = 2000,
    days: Annotated[float, typer.Option(min=1.0, help="simulated days")] = 120.0,
    seed: Annotated[int, typer.Option(help="seed of the fleet, its weather and its faults")] = 1,
    fault_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share of boilers given a fault")
    ] = 0.3,
    consent_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share of customers who granted remote access")
    ] = 1.0,
    watch_hours: Annotated[
        float, typer.Option(min=0.1, help="hours a reset must hold before its ticket is resolved remotely")
    ] = 24.0,
) -> None:
    """Simulate a season's lockouts and what the reset policy makes of them: resets sent, refused
    (by rule), fixed, recurred, dispatches saved. Prints progress, a table per code, and last one
    JSON line with the totals."""
    import json
    from datetime import timedelta

    from ondol.remote_reset_eval import ResetEvalConfig, evaluate_resets, format_resets

    config = ResetEvalConfig(devices=devices, days=days, seed=seed, fault_share=fault_share,
                             consent_share=consent_share, watch=timedelta(hours=watch_hours))  # fmt: skip
    report = evaluate_resets(config, progress=lambda line: typer.echo(line, err=True))
    typer.echo(format_resets(report))
    t = report.total()
    typer.echo(json.dumps({"lockouts": t.lockouts, "resets": t.resets, "fixed": t.fixed, "recurred": t.recurred,
                           "back_later": t.back_later, "dispatches_saved": t.saved,
                           "share_fixed_remotely": round(t.saved / t.lockouts, 4) if t.lockouts else 0.0}))  # fmt: skip


@app.command("eval-link")
def evaluate_customer_link(
    cases: Annotated[int, typer.Option(min=1, max=100_000, help="simulated fault cases")] = 600,
    seed: Annotated[int, typer.Option(help="seed of the codes and of the customers' choices")] = 1,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="an EMPTY database to use (default: a private one)")
    ] = None,
) -> None:
    """Simulate fault cases whose customers answer through the link (with stated probabilities) and
    count what the link changes: fixed by the customer, fixed remotely, visits booked, and inbound
    calls against a baseline where every alert leads to a call. Prints progress, the tables, and last
    one JSON line."""
    import json

    from ondol.eval_database import scratch_database
    from ondol.link_eval import LinkEvalConfig, evaluate_link, format_link_report

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    config = LinkEvalConfig(cases=cases, seed=seed)
    with scratch_database(database_url, progress) as dsn:
        report = asyncio.run(evaluate_link(dsn, config, progress))
    typer.echo(format_link_report(report))
    typer.echo(json.dumps({"cases": cases, "seed": seed, "outcomes": dict(report.outcomes),
                           "calls_baseline": report.calls_baseline, "calls_with_link": report.calls_with_link,
                           "wall_s": round(report.wall_s, 1)}))  # fmt: skip


@app.command("surge")
def evaluate_surge_command(
    devices: Annotated[int, typer.Option(min=100, max=200_000, help="boilers in the region")] = 20_000,
    cut: Annotated[int, typer.Option(min=1, help="boilers the gas-supply cut stops")] = 3_000,
    freeze_faults: Annotated[
        int, typer.Option(min=0, help="genuine freeze faults through the cold night")
    ] = 300,
    seed: Annotated[int, typer.Option(help="seed of the households and the faults")] = 1,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="an EMPTY database to use (default: a private one)")
    ] = None,
) -> None:
    """Simulate a cold wave over one region through the product's code: forecast, advisory, every
    household prepared, a gas-supply cut with safety codes inside it, genuine freeze faults. Prints
    progress and the table (tickets vs the naive count, the incident's latency, who was told)."""
    from ondol.eval_database import scratch_database
    from ondol.surge_eval import SurgeConfig, evaluate_surge, format_surge

    if cut > devices:
        raise typer.BadParameter("the cut cannot stop more boilers than the region has", param_hint="--cut")

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    config = SurgeConfig(devices=devices, cut=cut, freeze_faults=freeze_faults, seed=seed,
                         still_failing=max(1, cut * 4 // 100), safety_in_cut=max(1, cut // 100))  # fmt: skip
    with scratch_database(database_url, progress) as dsn:
        report = asyncio.run(evaluate_surge(dsn, config, progress))
    typer.echo(format_surge(report))


@app.command("eval-answers")
def evaluate_answers(
    questions: Annotated[
        Path, typer.Argument(help="TOML: questions = [[question, entry id], …]", exists=True)
    ],
) -> None:
    """Judge the standard answer search on written questions: top-1 and top-3 hit rates, and each miss."""
    from diagnostics.answers.store import index_of
    from ondol.answers_eval import judge_search, load_questions

    async def answers() -> list[Any]:
        from diagnostics.answers.store import all_answers

        settings = _settings()
        async with connect(_database_or_local(settings)) as conn:
            return await all_answers(conn)

    quality = judge_search(index_of(asyncio.run(answers())), load_questions(questions))
    typer.echo(f"{quality.questions} questions: top-1 {quality.top1:.0%}, top-3 {quality.top3:.0%}")
    for question, want, found in quality.misses:
        typer.echo(f"  {question!r}: want {want}, got {', '.join(found)}")


@app.command("eval")
def evaluate(
    devices: Annotated[int, typer.Option(min=1, help="simulated boilers")] = 2000,
    days: Annotated[float, typer.Option(min=1.0, help="simulated days")] = 120.0,
    seed: Annotated[int, typer.Option(help="seed of the fleet, its weather and its faults")] = 1,
    start: Annotated[str, typer.Option(help="first simulated day (YYYY-MM-DD, Korean time)")] = "2026-11-15",
    report_minutes: Annotated[
        int, typer.Option(min=1, max=60, help="simulated minutes between reports")
    ] = 60,
    fault_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share of boilers given a fault")
    ] = 0.3,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="an EMPTY database to use (default: a private one)")
    ] = None,
    over_mqtt: Annotated[
        bool,
        typer.Option(
            "--over-mqtt", help="publish over MQTT through the running local stack (ondol up) and its store"
        ),
    ] = False,
) -> None:
    """Simulate a fleet with faults, run the predictive detectors as in production, score them.

    Prints progress, a table per fault kind, and last one JSON line with the overall figures."""
    from datetime import date

    from diagnostics.predictive.evaluation import format_report
    from ondol.eval_database import scratch_database
    from ondol.predictive_eval import EvalConfig, run_over_mqtt, run_sync
    from telemetry.korean_time import kst_day_start

    _logging()
    try:
        first = kst_day_start(date.fromisoformat(start))
    except ValueError as exc:
        typer.echo(f"--start: {exc}", err=True)
        raise typer.Exit(2) from exc
    config = EvalConfig(devices=devices, days=days, seed=seed, start=first, report_minutes=report_minutes,
                        fault_share=fault_share)  # fmt: skip

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    if over_mqtt:
        settings = _settings(database_url=database_url)
        dsn = _database_or_local(settings)
        report = asyncio.run(
            run_over_mqtt(config, dsn, settings.sim_broker(), settings.sim_fleet_secret(), progress)
        )
    else:
        with scratch_database(database_url, progress) as dsn:
            report = run_sync(config, dsn, progress)
    for line in format_report(report):
        typer.echo(line)


@app.command()
def inject(
    device: Annotated[list[str], typer.Option("--device", help="device id (repeat the option for several)")],
    code: Annotated[str, typer.Option(help="catalog code, e.g. E003")],
    clear: Annotated[bool, typer.Option("--clear", help="clear the code instead of raising it")] = False,
    repeat: Annotated[int, typer.Option(min=1, max=100_000, help="send it this many times")] = 1,
    gap: Annotated[float, typer.Option(min=0.0, help="seconds between repeats")] = 0.0,
    allow_unknown: Annotated[bool, typer.Option(help="inject a code the catalog does not know")] = False,
    mqtt_url: MqttUrl = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="where to check the devices first (default: ONDOL_DATABASE_URL, "
            "or the local cluster of `ondol up`; none: the broker's answer alone)",
        ),
    ] = None,
) -> None:
    """Make simulated devices raise or clear an error code (fault injection).

    The injector logs in to the broker as each device. A device that is not registered, or whose broker
    credentials the injector cannot use, stops it at once with what to do (exit code 1)."""
    from diagnostics.catalog import load_catalog
    from firmware_sim.credentials import password_source
    from firmware_sim.faults import Injection, InjectionRefusedError
    from firmware_sim.faults import inject as send
    from protocol.contract import EVENT_CODE_PATTERN

    if not re.match(EVENT_CODE_PATTERN, code):
        raise typer.BadParameter("a code is E### or A##", param_hint="--code")
    entry = load_catalog().get(code)
    if entry is None and not allow_unknown:
        raise typer.BadParameter(
            f"{code} is not in the catalog (use --allow-unknown to send it anyway)", param_hint="--code"
        )
    settings = _settings(mqtt_url=mqtt_url, database_url=database_url)
    state: Literal["raised", "cleared"] = "cleared" if clear else "raised"
    secret = settings.sim_fleet_secret()
    if problems := _injection_problems(settings, device, secret):
        _fail(1, "cannot inject:", *problems)
    broker = settings.broker()
    injections = [Injection(d, code, state, repeat, gap) for d in device]
    try:
        sent = send(broker, injections, device_password=password_source(secret) if secret else None)
    except InjectionRefusedError as exc:
        _fail(1, "cannot inject:", *(
            f"the broker refused {d} ({reason}): the device must be registered and have broker credentials "
            "the injector knows (a simulated boiler's; docs/devices.md)" for d, reason in exc.refusals.items()
        ))  # fmt: skip
    except TimeoutError as exc:
        _fail(1, f"cannot inject: {exc} (is it running? `ondol up` starts one)")
    label = f"{code} ({entry.name.en})" if entry else code
    typer.echo(f"sent {sent} '{state}' events of {label} to {len(device)} device(s)")


def _injection_problems(settings: Settings, device_ids: list[str], secret: bytes | None) -> list[str]:
    """What the database says stands in the way of injecting into `device_ids`; [] when it has no
    objection or there is no database to ask (then the broker's answer is all there is)."""
    from ondol.inject_check import injection_problems

    dsn = settings.database_url or _local_database(settings)
    if dsn is None:
        return []

    async def check() -> list[str]:
        async with connect(dsn, application_name="ondol-inject") as conn:
            return await injection_problems(conn, device_ids, secret)

    try:
        return asyncio.run(check())
    except STORE_UNAVAILABLE as exc:
        typer.echo(f"(could not check the devices in the database: {exc}; trying the broker)", err=True)
        return []


@forecasts_app.command("load")
def load_forecasts(
    file: Annotated[Path, typer.Argument(help="a KMA getVilageFcst answer (JSON)", exists=True)],
    source: Annotated[str, typer.Option(help="kma, file or sim: where the answer came from")] = "file",
    database_url: DatabaseUrl = None,
) -> None:
    """Store a forecast's temperatures per region and hour, then judge the cold-wave advisories (a
    minimum below the threshold, or a drop of 10 °C in a day); prints the new ones. A file that is not
    a forecast stores nothing (exit 2)."""
    from diagnostics.cold_wave.kma import ForecastError
    from ondol.forecast_files import read_forecast_file, store_and_judge

    if source not in ("kma", "file", "sim"):
        raise typer.BadParameter("kma, file or sim", param_hint="--source")
    settings = _settings(database_url=database_url)
    try:
        points = read_forecast_file(file)
    except ForecastError as exc:
        typer.echo(f"not loaded: {exc}", err=True)
        raise typer.Exit(2) from exc
    stored, new = asyncio.run(
        store_and_judge(_database_or_local(settings), points, source, settings.cold_wave_config())
    )
    typer.echo(f"{stored} forecast temperatures stored")
    for day in new:
        typer.echo(
            f"cold-wave advisory: {day.region} {day.day}: low {day.min_c:.1f} °C ({', '.join(day.reasons)})"
        )


@forecasts_app.command("simulate")
def simulate_forecasts(
    output: Annotated[Path, typer.Option(help="where to write the forecast (KMA answer format)")],
    days: Annotated[int, typer.Option(min=1, max=7)] = 3,
    seed: Annotated[int, typer.Option()] = 1,
    cold_wave_depth: Annotated[
        float, typer.Option(min=0.0, max=25.0, help="°C of a cold wave from tomorrow")
    ] = 0.0,
) -> None:
    """Write the simulated regions' forecast from now, in the KMA's answer format (the file source the
    simulator feeds)."""
    from datetime import UTC, datetime

    from ondol.forecast_files import simulated_forecast

    document = simulated_forecast(
        seed=seed, issued=datetime.now(UTC), days=days, wave_depth_c=cold_wave_depth
    )
    output.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    typer.echo(f"{len(document['response']['body']['items']['item'])} forecast items written to {output}")


@devices_app.command("register")
def register_devices_command(
    file: Annotated[
        Path, typer.Argument(help="JSON file: a list of devices (see docs/devices.md)", exists=True)
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Register or update devices from a JSON file."""
    from ondol.device_import import DeviceFileError, load_device_records
    from telemetry.device_registry import register_devices

    settings = _settings(database_url=database_url)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        _fail(2, f"{file}: not a UTF-8 text file ({exc.reason} at byte {exc.start})")
    except json.JSONDecodeError as exc:
        _fail(2, f"{file}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
    try:
        records = load_device_records(document)
    except DeviceFileError as exc:
        count = len(exc.problems)
        _fail(2, f"{file}: {count} problem{'s' if count > 1 else ''}; nothing was registered "
                 "(the format: docs/devices.md)", *exc.problems)  # fmt: skip
    dsn = _database_or_local(settings)

    async def run() -> int:
        async with connect(dsn, application_name="ondol-devices") as conn, conn.transaction():
            return await register_devices(conn, devices=records)

    typer.echo(f"registered {asyncio.run(run())} devices")


def main() -> None:
    app()
