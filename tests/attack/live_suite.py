"""The suite as a user runs it (`extplane up`), on loopback ephemeral ports, with a
bearer token for the query roles and the host's admin roles, some metering and
audit data in it, and two host installs with a secret, a catalog and storage
entries each.

One install (`GUESSABLE`) is named with the fuzz's own plausible labels, so
fuzzed admin writes (DisableInstall, DeleteSecret, catalog loads) reach a
real record. The other (`hidden_install`) has a random tenant and id the fuzz
cannot guess: it holds the install token the provider fuzz sends, so that
token stays enabled, granted and backed by data for the whole run."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.suite import host_capabilities
from extplane_protos.alga.extension.v1 import storage_pb2, storage_pb2_grpc, types_pb2
from extplane_protos.extplane.admin.v1 import (
    catalogs_pb2,
    catalogs_pb2_grpc,
    installs_pb2,
    installs_pb2_grpc,
    secrets_pb2,
    secrets_pb2_grpc,
)
from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    metering_pb2,
    metering_pb2_grpc,
)
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

TOKEN = "attack-reader-0123456789"
AUTHORIZATION = f"Bearer {TOKEN}"
# The attacker reads metering and audit, and holds every host admin role so the
# fuzz reaches the admin handlers rather than their 403s.
ATTACKER_ROLES = [
    "metering.reader",
    "audit.reader",
    "installs.admin",
    "installs.reader",
    "installs.issuer",
]
# Seeds the data; the attacker cannot write metering or audit events.
WRITER_TOKEN = "attack-writer-0123456789"
WRITER = (("authorization", f"Bearer {WRITER_TOKEN}"),)
TOKENS = json.dumps(
    [
        {"name": "attacker", "token": TOKEN, "roles": ATTACKER_ROLES},
        {"name": "seeder", "token": WRITER_TOKEN, "roles": ["metering.writer", "audit.writer"]},
    ]
)
GRPC_SERVICES = ("capabilities", "metering", "audit", "host")
INSTALL_TOKEN_HEADER = "x-extplane-install-token"
# The longest lifetime the host allows: the provider fuzz's token outlives the run.
INSTALL_TOKEN_TTL_S = 900
# (tenant, install id) from the fuzz's plausible labels.
GUESSABLE = ("team-a", "agent-1")
SEEDED_EVENTS = 120
# Checkpoints every 10 records, so the checkpoint routes have pages to list.
CHECKPOINT_EVERY = 10
_NAMESPACES = ("team-a", "team-b")
_MODELS = ("gpt-x", "small-model")


@dataclass(frozen=True)
class LiveSuite:
    running: RunningCli
    # The hidden install's token, sent as INSTALL_TOKEN_HEADER.
    install_token: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """What an attacker sends: its bearer token and a live install token."""
        return (("authorization", AUTHORIZATION), (INSTALL_TOKEN_HEADER, self.install_token))


def hidden_install() -> tuple[str, str]:
    return f"attack-{secrets.token_hex(8)}", f"install-{secrets.token_hex(8)}"


@contextmanager
def live_suite(data: Path) -> Iterator[LiveSuite]:
    env = ephemeral_env(
        data,
        {
            "EXTPLANE_AUTH__TOKENS": TOKENS,
            "EXTPLANE_AUDIT__CHECKPOINT_EVERY_RECORDS": str(CHECKPOINT_EVERY),
            "EXTPLANE_HOST_PROVIDERS__TOKEN_TTL_S": str(INSTALL_TOKEN_TTL_S),
            "EXTPLANE_HOST_PROVIDERS__AUDIT_TOKEN": WRITER_TOKEN,
            "EXTPLANE_LOGGING__LEVEL": "WARNING",
        },
    )
    running = start_cli(["up"], env, {"gateway", *GRPC_SERVICES})
    try:
        seed(running)
        seed_install(running, *GUESSABLE)
        yield LiveSuite(running, seed_install(running, *hidden_install()))
    finally:
        if running.process.poll() is None:
            running.terminate()


def _at(seconds_ago: int) -> Timestamp:
    return Timestamp(seconds=int(time.time()) - seconds_ago)


def seed(running: RunningCli) -> None:
    """SEEDED_EVENTS metering events and audit records over the last few hours."""
    metering = [
        metering_pb2.MeteringEvent(
            timestamp=_at(60 * i),
            namespace=_NAMESPACES[i % 2],
            task=f"task-{i % 7}",
            agent=f"agent-{i % 3}",
            model=_MODELS[i % 2],
            tokens_in=100 * i,
            tokens_out=10 * i,
            tool_calls=i % 4,
            duration_ms=25 * i,
            event_id=f"seed-{i}",
        )
        for i in range(SEEDED_EVENTS)
    ]
    audit = [
        audit_pb2.AuditEvent(
            timestamp=_at(60 * i),
            action=("tool_invoke", "policy_deny", "task_create")[i % 3],
            actor=f"agent-{i % 3}",
            resource=f"tool/search-{i % 5}",
            namespace=_NAMESPACES[i % 2],
            outcome=("allowed", "denied", "error")[i % 3],
            details={"reason": f"seeded {i}", "formula": "=1+2" if i % 10 == 0 else "plain"},
            event_id=f"seed-{i}",
        )
        for i in range(SEEDED_EVENTS)
    ]
    with grpc.insecure_channel(running.grpc_target("metering")) as channel:
        stored = metering_pb2_grpc.MeteringSinkStub(channel).RecordMeteringBatch(
            metering_pb2.RecordMeteringBatchRequest(events=metering), metadata=WRITER, timeout=30
        )
        assert stored.accepted == SEEDED_EVENTS
    with grpc.insecure_channel(running.grpc_target("audit")) as channel:
        recorded = audit_pb2_grpc.AuditSinkStub(channel).RecordAuditBatch(
            audit_pb2.RecordAuditBatchRequest(events=audit), metadata=WRITER, timeout=30
        )
        assert recorded.accepted == SEEDED_EVENTS


CLIENTS_CSV = b"""client_id,client_name,is_inactive,billing_email
c-1,Acme Corp,false,billing@acme.example
c-2,Globex,true,
"""
SERVICES_JSON = json.dumps(
    [
        {
            "service_id": "s-1",
            "service_name": "Consulting",
            "item_kind": "service",
            "billing_method": "hourly",
            "default_rate": 150.0,
            "unit_of_measure": "hour",
            "is_active": True,
        },
        {
            "service_id": "s-2",
            "service_name": "Laptop",
            "item_kind": "product",
            "billing_method": "usage",
            "default_rate": 900.0,
            "unit_of_measure": "piece",
            "is_active": False,
            "sku": "LP-2",
        },
    ]
).encode()
SEEDED_STORAGE = 5


def seed_install(running: RunningCli, tenant: str, install_id: str) -> str:
    """An install granted every capability the host serves, with a secret, a
    clients and services catalog for its tenant and a few storage entries;
    returns its install token (with a user, for the user services)."""
    admin = (("authorization", AUTHORIZATION),)
    with grpc.insecure_channel(running.grpc_target("host")) as channel:
        installs_pb2_grpc.InstallRegistryServiceStub(channel).RegisterInstall(
            installs_pb2.RegisterInstallRequest(
                tenant=tenant,
                install_id=install_id,
                extension_id="com.example.attack",
                version="1.0.0",
                granted_capabilities=host_capabilities(),
            ),
            metadata=admin,
            timeout=30,
        )
        secrets_pb2_grpc.SecretsAdminServiceStub(channel).SetSecret(
            secrets_pb2.SetSecretRequest(
                tenant=tenant, install_id=install_id, key="API_KEY", value="sk-attack-123"
            ),
            metadata=admin,
            timeout=30,
        )
        catalogs = catalogs_pb2_grpc.CatalogAdminServiceStub(channel)
        catalogs.LoadClients(
            catalogs_pb2.LoadClientsRequest(
                tenant=tenant, format=catalogs_pb2.CATALOG_FILE_FORMAT_CSV, content=CLIENTS_CSV
            ),
            metadata=admin,
            timeout=30,
        )
        catalogs.LoadServices(
            catalogs_pb2.LoadServicesRequest(
                tenant=tenant, format=catalogs_pb2.CATALOG_FILE_FORMAT_JSON, content=SERVICES_JSON
            ),
            metadata=admin,
            timeout=30,
        )
        issued = installs_pb2_grpc.InstallRegistryServiceStub(channel).IssueInstallToken(
            installs_pb2.IssueInstallTokenRequest(
                tenant=tenant,
                install_id=install_id,
                request_id="attack-seed",
                user=installs_pb2.InstallTokenUser(
                    user_id="u-1", user_name="Ada", user_email="ada@acme.example"
                ),
            ),
            metadata=admin,
            timeout=30,
        )
        storage = storage_pb2_grpc.StorageServiceStub(channel)
        for i in range(SEEDED_STORAGE):
            storage.Put(
                storage_pb2.StorageServicePutRequest(
                    entry=types_pb2.StorageEntry(
                        namespace="team-a", key=f"key-{i}", value=f"value {i}".encode()
                    )
                ),
                metadata=((INSTALL_TOKEN_HEADER, issued.token),),
                timeout=30,
            )
    token: str = issued.token
    return token
