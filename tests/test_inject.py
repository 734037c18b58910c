"""`ondol inject` against a broker that checks passwords, as `ondol up` runs it: a device the registry
does not know, or that has no broker credentials, or whose password the injector cannot know, fails
at once with what to do; a broker refusal fails at once too, when there is no database to ask."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from firmware_sim.credentials import device_password
from gateway.broker_accounts import mosquitto_hash, revoke_account, set_account
from ondol.broker_auth import AuthFiles, sync_auth_files
from ondol.local_servers import BrokerSecurity, MosquittoServer, free_port
from testbed.support import register
from tests.test_cli import ondol

FLEET_SECRET = b"fleet-secret-for-inject-tests"


@pytest.fixture
async def guarded_broker(db: asyncpg.Connection, servers_dir: Path) -> AsyncIterator[MosquittoServer]:
    """A broker with no anonymous clients and accounts from the database: sim-00001 with the fleet's
    password, sim-00002 registered without credentials, kd-1 with a password of its own, sim-00003
    revoked; sim-99999 is not registered."""
    await register(db, "sim-00001", "sim-00002", "sim-00003", "kd-1")
    for device in ("sim-00001", "sim-00003"):
        await set_account(db, device, "device", mosquitto_hash(device_password(FLEET_SECRET, device)),
                          issued_by="test")  # fmt: skip
    await set_account(db, "kd-1", "device", mosquitto_hash("its own password"), issued_by="test")
    await revoke_account(db, "sim-00003")
    base = Path(tempfile.mkdtemp(dir=servers_dir, prefix="mqtt-inject-"))
    files = AuthFiles(base / "passwords", base / "acl")
    await sync_auth_files(db, files)
    server = MosquittoServer(base, free_port(), security=BrokerSecurity(files.password_file, files.acl_file))
    server.start()
    yield server
    server.stop()


def _env(tmp_path: Path) -> dict[str, str]:
    secret = tmp_path / "fleet-secret"
    secret.write_bytes(FLEET_SECRET)
    return dict(os.environ, ONDOL_STATE_DIR=str(tmp_path / "state"), ONDOL_SIM_FLEET_SECRET_FILE=str(secret))


def _inject(broker: MosquittoServer, tmp_path: Path, *args: str) -> tuple[int, str, str, float]:
    started = time.monotonic()
    result = ondol("inject", "--code", "E003", "--mqtt-url", f"mqtt://{broker.host}:{broker.port}", *args,
                   env=_env(tmp_path))  # fmt: skip
    return result.returncode, result.stdout, result.stderr, time.monotonic() - started


async def test_inject_fails_at_once_naming_what_a_device_lacks(
    guarded_broker: MosquittoServer, db_dsn: str, tmp_path: Path
) -> None:
    code, _out, err, took = _inject(
        guarded_broker, tmp_path, "--device", "sim-99999", "--database-url", db_dsn
    )
    assert code == 1, err
    assert took < 15, f"took {took:.0f} s"
    assert "sim-99999 is not registered" in err
    assert "ondol devices register" in err

    code, _out, err, _took = _inject(guarded_broker, tmp_path, "--device", "sim-00002", "--device", "sim-00003",
                                     "--device", "kd-1", "--database-url", db_dsn)  # fmt: skip
    assert code == 1, err
    assert "sim-00002 has no broker credentials" in err
    assert "POST /v1/devices/sim-00002/mqtt-credentials" in err
    assert "sim-00003's broker credentials were revoked" in err
    assert "kd-1 has a broker password of its own" in err
    assert "Traceback" not in err

    code, out, err, _took = _inject(
        guarded_broker, tmp_path, "--device", "sim-00001", "--database-url", db_dsn
    )
    assert code == 0, err
    assert "sent 1 'raised' events of E003" in out


async def test_a_broker_refusal_fails_at_once_when_no_database_can_be_asked(
    guarded_broker: MosquittoServer, tmp_path: Path
) -> None:
    code, _out, err, took = _inject(guarded_broker, tmp_path, "--device", "sim-99999")
    assert code == 1, err
    assert took < 15, f"took {took:.0f} s"
    assert "the broker refused sim-99999" in err
    assert "not authori" in err.lower()
    assert "registered" in err
    assert "credentials" in err
    assert "Traceback" not in err
