"""`ondol up` from nothing: private servers, migrations, every process and 200 simulated boilers, all
online with fresh telemetry within 90 s; Ctrl-C stops everything cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from ondol.local_servers import free_port

pytestmark = pytest.mark.slow  # `ondol up` from nothing: every process and 200 boilers

DEVICES = 200
INTERVAL_S = 10


def admin_headers(state: Path) -> dict[str, str]:
    """The admin key `ondol up` wrote (httpx.HTTPError while it is not there yet, so callers retry)."""
    token_file = state / "admin-token"
    if not token_file.exists():
        raise httpx.ConnectError("no admin token yet")
    return {"Authorization": f"Bearer {token_file.read_text().strip()}"}


def online_devices(api: str, headers: dict[str, str]) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"status": "online", "limit": 500}
        if cursor:
            params["cursor"] = cursor
        body = httpx.get(f"{api}/v1/devices", params=params, headers=headers, timeout=5).json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def anonymous_refused(port: int) -> bool:
    """Whether the broker answers an anonymous CONNECT (MQTT 3.1.1) with "not authorised"."""
    connect = bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 0])  # clean session, empty id
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(connect)
        answer = s.recv(4)
    return answer == bytes([0x20, 2, 0, 5])


def _log_once_written(path: Path, line: str, within_s: float = 5.0) -> str:
    """The log's text once `line` is in it, or as it is after `within_s`: a request's line is written
    after its answer is sent, so a reader that asks and then reads at once may come too early."""
    deadline = time.monotonic() + within_s
    text = path.read_text()
    while line not in text and time.monotonic() < deadline:
        time.sleep(0.1)
        text = path.read_text()
    return text


def test_ondol_up_brings_200_boilers_online_within_90_seconds_and_stops_cleanly() -> None:
    state = Path(tempfile.mkdtemp(prefix="ondol-up-"))
    ports = {
        name: free_port() for name in ("API", "MQTT", "MQTT_TLS", "PG", "GATEWAY_METRICS", "API_METRICS")
    }
    env = dict(os.environ)
    env.update({f"ONDOL_{name}_PORT": str(port) for name, port in ports.items()})
    env.update(
        ONDOL_STATE_DIR=str(state),
        ONDOL_SIM_DEVICES=str(DEVICES),
        ONDOL_SIM_REPORT_INTERVAL_S=str(INTERVAL_S),
    )
    api = f"http://127.0.0.1:{ports['API']}"
    log = state.parent / f"{state.name}.out"
    started = time.monotonic()
    with log.open("wb") as out:
        stack = subprocess.Popen(
            [sys.executable, "-m", "ondol", "up"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        fresh: list[dict[str, object]] = []
        while time.monotonic() - started < 90 and len(fresh) < DEVICES:
            assert stack.poll() is None, f"ondol up exited early:\n{log.read_text()[-3000:]}"
            time.sleep(1)
            try:
                online = online_devices(api, admin_headers(state))
            except httpx.HTTPError:
                continue
            cutoff = datetime.now(UTC) - timedelta(seconds=2 * INTERVAL_S)
            fresh = [
                d for d in online
                if d.get("last_reading_at") and datetime.fromisoformat(str(d["last_reading_at"])) > cutoff
            ]  # fmt: skip
        elapsed = time.monotonic() - started
        assert len(fresh) == DEVICES, (
            f"{len(fresh)} of {DEVICES} online with fresh telemetry after {elapsed:.0f}s"
        )
        output = log.read_text()
        assert "Where to look" in output
        token_file = state / "admin-token"
        assert token_file.stat().st_mode & 0o777 == 0o600, "the admin key is readable by its owner only"
        assert token_file.read_text().strip() in output, "the admin key is printed"
        assert httpx.get(f"{api}/v1/devices", timeout=5).status_code == 401, "no key, no data"
        assert "no anonymous clients" in output
        assert anonymous_refused(ports["MQTT"]), "the broker refuses clients without an account"
        secret = state / "sim-fleet-secret"
        assert secret.stat().st_mode & 0o777 == 0o600
        assert "TimescaleDB apache edition" in output
        webhooks_log = state / "logs" / "webhooks.log"
        assert "webhook delivery worker started" in webhooks_log.read_text(), "the webhook worker runs too"
        alerts_log = state / "logs" / "alerts.log"
        assert "customer alert worker started (providers: sink)" in alerts_log.read_text(), (
            "and the alert worker"
        )
        api_log = _log_once_written(state / "logs" / "api.log", "GET /v1/devices 401")
        assert "GET /v1/devices 401" in api_log, "the API logs its requests"
        assert "GET /v1/devices 200" in api_log
        scraped = httpx.get(f"http://127.0.0.1:{ports['API_METRICS']}/metrics", timeout=5).text
        assert "ondol_store_up 1.0" in scraped
        assert "ondol_event_inbox_backlog" in scraped
        assert 'ondol_api_requests_total{method="GET",route="/v1/devices",status="200"}' in scraped
        diagnostics_log = (state / "logs" / "diagnostics.log").read_text()
        assert "Running job" not in diagnostics_log, "the scheduler does not log every run"
    finally:
        stack.send_signal(signal.SIGINT)
        code = stack.wait(90)
    assert code == 0, log.read_text()[-3000:]
    for name, port in ports.items():
        assert not port_open(port), f"{name} port {port} still open after Ctrl-C"
