"""The command line: registering devices from a file, migrating, and `ondol up` on existing servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from ondol.local_servers import free_port
from protocol.broker import BrokerAddress


def ondol(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ondol", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def test_devices_register_reads_a_file_and_refuses_bad_ones(
    db: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    good = tmp_path / "devices.json"
    good.write_text(json.dumps([
        {"device_id": "kd-1", "model": "NCB-300", "serial": "S1", "region": "busan",
         "contacts": [{"name": "김영숙", "phone": "010-1234-5678", "role": "owner"}]},
        {"device_id": "kd-2", "model": "NCB-300", "serial": "S2"},
    ]))  # fmt: skip
    result = ondol("devices", "register", str(good), "--database-url", db_dsn)
    assert result.returncode == 0, result.stderr
    assert "registered 2 devices" in result.stdout
    assert await db.fetchval("SELECT count(*) FROM devices") == 2
    assert await db.fetchval("SELECT phone FROM device_contacts WHERE device_id = 'kd-1'") == "+821012345678"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"device_id": "no/slash", "model": "X", "serial": "1"}]))
    result = ondol("devices", "register", str(bad), "--database-url", db_dsn)
    assert result.returncode == 2
    assert "device_id" in result.stderr
    assert await db.fetchval("SELECT count(*) FROM devices") == 2, "nothing of a bad file is registered"

    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(
        json.dumps([{"device_id": "kd-3", "model": "X", "serial": "3", "region": "atlantis"}])
    )
    result = ondol("devices", "register", str(elsewhere), "--database-url", db_dsn)
    assert result.returncode == 2
    assert "region" in result.stderr
    assert "seoul" in result.stderr, "the refusal lists the regions"
    assert await db.fetchval("SELECT count(*) FROM devices") == 2


async def test_migrate_reports_the_edition_and_is_idempotent(db_dsn: str) -> None:
    result = ondol("migrate", "--database-url", db_dsn)
    assert result.returncode == 0, result.stderr
    assert "apache edition" in result.stdout
    assert "0 migration(s) applied" in result.stdout


async def test_up_on_existing_servers_starts_no_servers_of_its_own(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, tmp_path: Path
) -> None:
    api_port = free_port()
    env = dict(os.environ, ONDOL_STATE_DIR=str(tmp_path / "state"), ONDOL_API_PORT=str(api_port),
               ONDOL_GATEWAY_METRICS_PORT="0", ONDOL_API_METRICS_PORT="0", ONDOL_SIM_DEVICES="20",
               ONDOL_SIM_REPORT_INTERVAL_S="5")  # fmt: skip
    out = (tmp_path / "up.log").open("wb")
    stack = subprocess.Popen(
        [sys.executable, "-m", "ondol", "up", "--database-url", db_dsn, "--mqtt-url", f"mqtt://{broker.host}:{broker.port}"],
        env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        online = 0
        while time.monotonic() < deadline and online < 20:
            time.sleep(1)
            try:
                token = (tmp_path / "state" / "admin-token").read_text().strip()
                body = httpx.get(f"http://127.0.0.1:{api_port}/v1/devices?status=online",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=5).json()  # fmt: skip
                online = len(body["items"])
            except (httpx.HTTPError, OSError):
                continue
        assert online == 20
    finally:
        stack.send_signal(signal.SIGINT)
        code = stack.wait(60)
        out.close()
    log = (tmp_path / "up.log").read_text()
    assert code == 0, log[-2000:]
    assert "using the database at --database-url" in log
    assert "using the broker at --mqtt-url" in log
    assert not (tmp_path / "state" / "postgres").exists(), "no private cluster when a database is given"


async def test_a_bad_device_file_is_explained_field_by_field_in_plain_words(
    db: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    good = {"device_id": "kd-1", "model": "NCB-300", "serial": "S1"}
    bad = {
        "device_id": "kd-4", "model": "NCB-300", "serial": "S4", "installed_on": "2026-13-01", "colour": "red",
        "contacts": [{"name": "김영숙", "phone": "010-1234-567", "role": "owner"},
                     {"name": "박민수", "phone": "01099998888", "role": "aunt"}],
    }  # fmt: skip
    file = tmp_path / "devices.json"
    file.write_text(json.dumps([good, {"device_id": "kd-2", "model": "NCB-300"}, good, bad]))
    result = ondol("devices", "register", str(file), "--database-url", db_dsn)
    assert result.returncode == 2, result.stderr
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert lines[0] == f"{file}: 5 problems; nothing was registered (the format: docs/devices.md)"
    assert sorted(lines[1:]) == sorted([
        "devices[1].serial: missing (it is required)",
        "devices[3].installed_on: must be a date written YYYY-MM-DD (month value is outside expected range "
        "of 1-12) (got '2026-13-01')",
        "devices[3].colour: not a known field (check its spelling)",
        "devices[3].contacts[0].phone: the value is not a phone number: a mobile number is 010 and 8 digits",
        "devices[3].contacts[1].role: must be one of 'owner' or 'family' (got 'aunt')",
    ])  # fmt: skip
    assert "pydantic" not in result.stderr.lower()
    assert "http" not in result.stderr
    assert "1234-567" not in result.stderr, "a phone number is personal data: never repeated"
    assert await db.fetchval("SELECT count(*) FROM devices") == 0

    file.write_text(json.dumps({"device_id": "kd-9", "model": "NCB-300", "serial": "S9", "latitude": 91}))
    single = ondol("devices", "register", str(file), "--database-url", db_dsn)
    assert single.returncode == 2
    assert single.stderr.splitlines()[1].strip() == "latitude: must be 90 or less (got 91)"

    file.write_text('[{"device_id": "kd-1",}]')
    broken = ondol("devices", "register", str(file), "--database-url", db_dsn)
    assert broken.returncode == 2
    assert broken.stderr.strip() == (
        f"{file}: not valid JSON: Expecting property name enclosed in double quotes at line 1, column 23"
    )


def test_bad_settings_are_named_by_their_variable_or_option(tmp_path: Path) -> None:
    env = dict(os.environ, ONDOL_API_PORT="eighty", ONDOL_SIM_DEVICES="-3", ONDOL_STATE_DIR=str(tmp_path),
               ONDOL_CAMPAIGN_WINDOW="09-01..13-45", ONDOL_MQTT_URL="http://operator:hunter2@broker")  # fmt: skip
    result = ondol("sim", "--devices", "-5", "--prefix", "no spaces", env=env)
    assert result.returncode == 2, result.stderr
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert lines[0] == "invalid settings:"
    assert sorted(lines[1:]) == sorted([
        "ONDOL_API_PORT: must be a whole number (got 'eighty')",
        "--devices: must be 0 or more (got -5)",
        "--prefix: does not have the expected form (got 'no spaces')",
        "ONDOL_CAMPAIGN_WINDOW: month must be in 1..12 (got '09-01..13-45')",
        "ONDOL_MQTT_URL: must start with mqtt:// or mqtts://",
    ])  # fmt: skip
    assert "hunter2" not in result.stderr, "a URL may hold a password: never repeated"
    assert "pydantic" not in result.stderr.lower()

    env = dict(os.environ, ONDOL_WEBHOOK_ALLOWED_NETWORKS="10.0.0.0/8", ONDOL_STATE_DIR=str(tmp_path))
    result = ondol("migrate", env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "invalid settings:",
        '  ONDOL_WEBHOOK_ALLOWED_NETWORKS: must be written as JSON, e.g. ["127.0.0.1/32", "10.0.0.0/8"] for a list',
    ]
    assert "Traceback" not in result.stderr
