"""The data directory is 0700 and every file the suite keeps in it 0600, whatever
the umask: databases and keys hold tenants' data."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.storage import ensure_private_directory, write_private_file_once
from extplane.suite import Suite, ephemeral_ports
from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    metering_pb2,
    metering_pb2_grpc,
)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o002)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
async def test_the_suite_keeps_its_data_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    settings = Settings.model_validate(
        {
            "data_dir": data_dir,
            "metrics": {"enabled": False},
            **ephemeral_ports(),
        }
    )
    now = Timestamp()
    now.GetCurrentTime()
    suite = Suite(settings, names=("metering", "audit"), metrics=Metrics())
    async with suite:
        metering = suite.servers["metering"].address
        audit = suite.servers["audit"].address
        async with grpc.aio.insecure_channel(metering) as channel:
            await metering_pb2_grpc.MeteringSinkStub(channel).RecordMetering(
                metering_pb2.RecordMeteringRequest(
                    event=metering_pb2.MeteringEvent(timestamp=now, namespace="a")
                )
            )
        async with grpc.aio.insecure_channel(audit) as channel:
            await audit_pb2_grpc.AuditSinkStub(channel).RecordAudit(
                audit_pb2.RecordAuditRequest(
                    event=audit_pb2.AuditEvent(
                        timestamp=now, action="a", actor="b", resource="c", outcome="allowed"
                    )
                )
            )
        # While serving: SQLite removes its WAL and shared-memory files at close.
        modes = {path.name: _mode(path) for path in data_dir.iterdir() if path.is_file()}

    assert {"metering.db", "metering.db-wal", "audit.db", "audit.db-wal"} <= modes.keys()
    assert {"page-token.key"} <= modes.keys()
    assert _mode(data_dir) == 0o700
    assert modes == dict.fromkeys(modes, 0o600)
    keys = data_dir / "audit-keys"
    assert _mode(keys) == 0o700
    key_files = {path.name: _mode(path) for path in keys.iterdir()}
    assert "active" in key_files
    assert len(key_files) == 2
    assert key_files == dict.fromkeys(key_files, 0o600)


def test_an_existing_directory_is_left_as_its_owner_made_it(tmp_path: Path) -> None:
    shared = tmp_path / "volume"
    shared.mkdir(mode=0o750)
    os.chmod(shared, 0o750)

    ensure_private_directory(shared)

    assert _mode(shared) == 0o750


@pytest.mark.usefixtures("permissive_umask")
def test_a_private_file_is_written_once(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k"
    assert write_private_file_once(path, b"first") is True
    assert write_private_file_once(path, b"second") is False

    assert path.read_bytes() == b"first"
    assert _mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["k"]  # no candidate left behind
