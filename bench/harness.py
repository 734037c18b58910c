"""What every ingest-driven benchmark shares: private servers, the C load generator, gateway
processes watched through /proc and /metrics, and row counts.

The benchmarks are scripts, not part of the product: they start the product's own processes
(`python -m ondol gateway`, `python -m ondol api`) exactly as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from ondol.local_servers import free_port
from testbed.servers import PrivateServers, private_servers

ROOT = Path(__file__).resolve().parent.parent

CONNECTIONS = 4
WINDOW = 1000


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


@dataclass
class Servers(PrivateServers):
    """A private PostgreSQL (durable settings, as in production) and Mosquitto, and the load generator."""

    loadgen_binary: Path


@contextmanager
def servers(pg_settings: dict[str, str] | None = None) -> Iterator[Servers]:
    """Removed on the way out: tens of GB after the 50-million-reading run."""
    with private_servers("ondol-bench-", pg_settings=pg_settings) as srv:
        yield Servers(srv.base, srv.pg, srv.mq, build_loadgen(srv.base))


@contextmanager
def product_processes(srv: PrivateServers, commands: Sequence[str], **env: str) -> Iterator[None]:
    """`python -m ondol <command>` for each command, on the servers, with extra ONDOL_* settings;
    all stopped (newest first) on the way out, however the benchmark ends."""
    environment = dict(os.environ, ONDOL_DATABASE_URL=srv.dsn, ONDOL_MQTT_URL=f"mqtt://{srv.mq.host}:{srv.mq.port}",
                       ONDOL_GATEWAY_METRICS_PORT="0", ONDOL_API_METRICS_PORT="0", **env)  # fmt: skip
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            processes.append(subprocess.Popen([sys.executable, "-m", "ondol", command], env=environment, cwd=ROOT,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        yield
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(30)


def build_loadgen(workdir: Path) -> Path:
    binary = workdir / "loadgen"
    result = subprocess.run(["gcc", "-O2", "-o", str(binary), str(ROOT / "bench" / "loadgen.c"), "-lmosquitto"],
                            capture_output=True, text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(
            f"cannot build bench/loadgen.c (is libmosquitto-dev installed? run make system):\n{result.stderr}"
        )
    return binary


CONTRACT_ROOT = "ondol/v1"
BASELINE_ROOT = "bench/v1"
"""Where baselines publish: outside the contract's root, so that no gateway subscribed to it takes
their messages too (it would quarantine them, competing for the cores the baseline measures)."""


def loadgen_command(
    binary: Path,
    port: int,
    devices: int,
    per_device: int,
    prefix: str,
    rate: float = 0,
    root: str = CONTRACT_ROOT,
) -> list[str]:
    return [str(binary), "127.0.0.1", str(port), str(CONNECTIONS), str(devices), str(per_device), str(WINDOW),
            prefix, str(rate), root]  # fmt: skip


def parse_loadgen(output: str) -> dict[str, float]:
    words = output.split()
    return {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}


def loadgen(
    binary: Path,
    port: int,
    devices: int,
    per_device: int,
    prefix: str,
    rate: float = 0,
    root: str = CONTRACT_ROOT,
) -> dict[str, float]:
    """Publish `devices` × `per_device` telemetry messages under `root` (paced at `rate`/s if given);
    its report."""
    command = loadgen_command(binary, port, devices, per_device, prefix, rate, root)
    return parse_loadgen(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def device_ids(prefix: str, devices: int) -> list[str]:
    """The ids the load generator publishes for: prefix-000000, prefix-000001, ..."""
    return [f"{prefix}-{i:06d}" for i in range(devices)]


async def register(dsn: str, prefix: str, devices: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "devices", records=[(d, "BENCH", d) for d in device_ids(prefix, devices)],
            columns=["device_id", "model", "serial"],
        )  # fmt: skip
    finally:
        await conn.close()


async def api_key(dsn: str, role: str = "agent") -> str:
    """A new API key of `role`, as a benchmark's client presents it."""
    from api.access_keys import issue_key

    conn = await asyncpg.connect(dsn)
    try:
        return (await issue_key(conn, name=f"bench-{role}", role=role, created_by="bench")).token
    finally:
        await conn.close()


async def count(dsn: str, prefix: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM readings WHERE device_id LIKE $1", f"{prefix}-%")
        )
    finally:
        await conn.close()


def wait_for_rows(dsn: str, prefix: str, total: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while (stored := asyncio.run(count(dsn, prefix))) < total:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {stored} of {total} rows for {prefix} after {timeout_s:.0f} s")
        time.sleep(0.5)


def wait_for_written(
    gateways: list[Gateway], written0: float, published: int, timeout_s: float = 600
) -> None:
    """Wait until the gateways have committed `published` new rows since `written0`.

    The gateways count rows newly committed (a redelivered duplicate is not counted), so this is the
    commit clock for messages of a fresh prefix. It reads the gateways' /metrics every 0.1 s:
    polling the database instead (a count over the growing table) cost enough CPU on two cores to
    distort the figure it was measuring.
    """
    deadline = time.monotonic() + timeout_s
    while (done := sum(g.written() for g in gateways) - written0) < published:
        if time.monotonic() > deadline:
            raise SystemExit(f"gateways committed {done:.0f} of {published} messages in {timeout_s:.0f} s")
        time.sleep(0.1)


class Gateway:
    """One gateway process with its own client id and metrics port."""

    def __init__(self, dsn: str, mqtt_port: int, number: int) -> None:
        self.metrics_port = free_port()
        env = dict(os.environ, ONDOL_DATABASE_URL=dsn, ONDOL_MQTT_URL=f"mqtt://127.0.0.1:{mqtt_port}",
                   ONDOL_GATEWAY_METRICS_PORT=str(self.metrics_port), ONDOL_GATEWAY_CLIENT_ID=f"bench-gateway-{number}",
                   ONDOL_GATEWAY_SHARE_GROUP="ondol-gateway")  # fmt: skip
        self.process = subprocess.Popen([sys.executable, "-m", "ondol", "gateway"], env=env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30) -> None:
        """Ready once /metrics answers and the subscription is in place (a short settle after)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.received()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the gateway did not start") from None
                time.sleep(0.2)
        time.sleep(2.0)  # the subscription follows the connection; a shared group must exist before load

    def received(self) -> float:
        return self._counter("ondol_gateway_received_total")

    def written(self) -> float:
        return self._counter('ondol_gateway_written_total{kind="readings"}')

    def _counter(self, name: str) -> float:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        return 0.0

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def resident_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


@dataclass(frozen=True)
class Run:
    rate: float  # committed messages/s
    cpu_us: float  # gateway CPU per message, all processes
    sent_rate: float  # the load generator's own send rate
    handled: list[float]  # messages each gateway process took, from its /metrics


def gateway_run(servers: Servers, gateways: list[Gateway], devices: int, per_device: int, prefix: str) -> Run:
    """Publish devices × per_device messages as fast as possible; time until all are committed
    (rows already stored under `prefix`, from a warm-up round, are counted first)."""
    total = devices * per_device + asyncio.run(count(servers.dsn, prefix))
    received0 = [g.received() for g in gateways]
    written0 = sum(g.written() for g in gateways)
    cpu0 = sum(g.cpu() for g in gateways)
    published = devices * per_device
    started = time.monotonic()
    sent = loadgen(servers.loadgen_binary, servers.mq.port, devices, per_device, prefix)
    wait_for_written(gateways, written0, published)
    elapsed = time.monotonic() - started
    cpu = sum(g.cpu() for g in gateways) - cpu0
    wait_for_rows(servers.dsn, prefix, total)  # every acknowledged message is stored
    handled = [g.received() - r0 for g, r0 in zip(gateways, received0, strict=True)]
    return Run(published / elapsed, cpu / published * 1e6, sent["rate"], handled)


@dataclass(frozen=True)
class Growth:
    devices: int
    warm_cpu_us: float
    """First sight of every device (its registry look-up), CPU per message."""
    rate: float
    cpu_us: float
    resident_mb: float


def measure_growth(servers: Servers, gateway: Gateway, sizes: list[int], messages: int) -> list[Growth]:
    """The gateway's rate and CPU per message with fleets of `sizes` devices, `messages` each, after a
    warm-up round of one message per device (so first-sight look-ups are measured apart)."""
    results = []
    for devices in sizes:
        prefix = f"g{devices}"
        asyncio.run(register(servers.dsn, prefix, devices))
        warm = gateway_run(servers, [gateway], devices, 1, prefix)
        run = gateway_run(servers, [gateway], devices, max(1, messages // devices), prefix)
        results.append(Growth(devices, warm.cpu_us, run.rate, run.cpu_us, gateway.resident_mb()))
        log(f"{devices:,} devices: {run.rate:,.0f} msg/s, {run.cpu_us:.1f} µs CPU/message "
            f"(first sight {warm.cpu_us:.1f} µs), gateway RSS {results[-1].resident_mb:.0f} MB")  # fmt: skip
    return results


@dataclass(frozen=True)
class CpuSplit:
    """Where the machine's CPU went over a stretch of time, in cores: by process kind."""

    cores: dict[str, float]
    seconds: float


def _process_cpu() -> dict[int, tuple[str, float]]:
    """Every live process's name and CPU seconds so far (its own; reaped children are counted apart)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / tick)
    return found


def _machine_busy() -> tuple[float, float, float]:
    """CPU seconds busy, waiting for the disk (iowait) and in all, every core together, since boot
    (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle, iowait = values[3], values[4]
    return (sum(values) - idle - iowait) / tick, iowait / tick, sum(values) / tick


@contextmanager
def cpu_split(gateway_pids: Sequence[int], result: list[CpuSplit]) -> Iterator[None]:
    """Measure where the CPU goes while the block runs: gateways, broker, database, the load
    generator (this process's reaped children), the kernel and the rest; appends to `result`."""
    before, busy0, started = _process_cpu(), _machine_busy(), time.monotonic()
    children0 = os.times().children_user + os.times().children_system
    yield
    after, busy1 = _process_cpu(), _machine_busy()
    seconds = time.monotonic() - started
    children = os.times().children_user + os.times().children_system - children0
    spent: dict[str, float] = {"gateways": 0.0, "broker": 0.0, "database": 0.0, "load generator": children}
    for pid, (name, cpu) in after.items():
        used = cpu - before[pid][1] if pid in before and before[pid][0] == name else cpu
        kind = ("gateways" if pid in gateway_pids else "broker" if name == "mosquitto"
                else "database" if name == "postgres" else None)  # fmt: skip
        if kind is not None:
            spent[kind] += used
    busy = busy1[0] - busy0[0]
    spent["kernel and the rest"] = max(0.0, busy - sum(spent.values()))
    spent["idle, waiting for the disk"] = busy1[1] - busy0[1]
    spent["idle"] = max(0.0, (busy1[2] - busy0[2]) - busy - spent["idle, waiting for the disk"])
    result.append(CpuSplit({k: v / seconds for k, v in spent.items()}, seconds))


def report(table: str, output: Path | None) -> None:
    """Print a benchmark's Markdown table, and write it to `output` when given."""
    print()
    print(table)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(table + "\n")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
