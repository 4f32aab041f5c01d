"""The `secrets` provider and its admin service over the real wire, on both
backends: set, read, list and delete; expiry on the kit's clock; the admin
roles; tenant and install isolation whatever key is named; key rotation and
rewrap; a ciphertext moved to another row refusing to decrypt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from host_support import OTHER_TOKEN, READER_TOKEN, error_info, token_metadata
from secrets_support import GET, ISSUER_TOKEN, Host, failure, serve, variant

from extplane.host.secrets import keys
from extplane.host.secrets.sealing import SecretAddress
from extplane.host.secrets.store import StoredSecret
from extplane_client import InstallsClient
from extplane_client.secrets_admin import SecretsAdminError

MISSING, EXPIRED, INTERNAL = "SECRET_ERROR_MISSING", "SECRET_ERROR_EXPIRED", "SECRET_ERROR_INTERNAL"


@pytest.fixture
async def host(database_url: str, tmp_path: Path) -> AsyncIterator[Host]:
    async with serve(database_url, tmp_path) as served:
        yield served


async def test_set_get_list_delete(host: Host) -> None:
    md = await host.install("acme", "app-1")
    async with host.admin() as admin:
        made = await admin.set_secret(tenant="acme", install_id="app-1", key="API_KEY", value="k1")
        await admin.set_secret(tenant="acme", install_id="app-1", key="db/password", value="pw")
        assert made.key == "API_KEY"
        assert made.key_id.startswith("sk-")
        assert made.update_time.ToNanoseconds() == host.clock()
        assert not made.HasField("expire_time")

        assert await host.get(md, "API_KEY") == "k1"
        assert await host.get(md, "db/password") == "pw"
        assert await host.keys(md) == ["API_KEY", "db/password"]

        host.clock.advance(5)
        await admin.set_secret(tenant="acme", install_id="app-1", key="API_KEY", value="k2")
        assert await host.get(md, "API_KEY") == "k2"
        listed = await admin.list_secrets(tenant="acme", install_id="app-1")
        assert [(s.key, s.key_id) for s in listed] == [
            ("API_KEY", made.key_id),
            ("db/password", made.key_id),
        ]
        assert listed[0].update_time.ToNanoseconds() == host.clock()
        assert all(field.name != "value" for field, _ in listed[0].ListFields())

        await admin.delete_secret(tenant="acme", install_id="app-1", key="API_KEY")
        assert await variant(host.get(md, "API_KEY")) == MISSING
        assert await host.keys(md) == ["db/password"]
        with pytest.raises(SecretsAdminError) as gone:
            await admin.delete_secret(tenant="acme", install_id="app-1", key="API_KEY")
        assert gone.value.code == grpc.StatusCode.NOT_FOUND
        assert "API_KEY" in str(gone.value)

    actions = [(e.action, e.actor, e.resource, dict(e.details)) for e in host.audit.events]
    assert actions[0] == (
        "secret.set",
        "platform-admin",
        "install/acme/app-1/secret/API_KEY",
        {"key": "API_KEY", "key_id": made.key_id},
    )
    assert [a[0] for a in actions] == ["secret.set"] * 3 + ["secret.delete"]


async def test_an_expired_secret_is_refused_and_still_listed(host: Host) -> None:
    md = await host.install("acme", "app-1")
    expires = host.clock() + 60 * 10**9
    async with host.admin() as admin:
        made = await admin.set_secret(
            tenant="acme", install_id="app-1", key="TOKEN", value="t", expire_time_ns=expires
        )
        assert made.expire_time.ToNanoseconds() == expires
        assert dict(host.audit.events[-1].details)["expire_time"] == made.expire_time.ToJsonString()
        host.clock.advance(59)
        assert await host.get(md, "TOKEN") == "t"
        host.clock.advance(1)
        error = await failure(host.get(md, "TOKEN"))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert await variant(host.get(md, "TOKEN")) == EXPIRED
        assert "TOKEN" in (error.details() or "")
        assert await host.keys(md) == ["TOKEN"]
        # Set again without an expiry: served again.
        await admin.set_secret(tenant="acme", install_id="app-1", key="TOKEN", value="t2")
        assert await host.get(md, "TOKEN") == "t2"


@pytest.mark.parametrize(
    "expire_s",
    [
        # Past 2262 and before 1677: valid Timestamps, but not int64 nanoseconds.
        9_223_372_037,
        -9_223_372_037,
    ],
)
async def test_an_expiry_the_store_cannot_hold_is_refused_naming_the_field(
    host: Host, expire_s: int
) -> None:
    md = await host.install("acme", "app-1")
    async with host.admin() as admin:
        with pytest.raises(SecretsAdminError) as refused:
            await admin.set_secret(
                tenant="acme",
                install_id="app-1",
                key="LATER",
                value="v",
                expire_time_ns=expire_s * 10**9,
            )
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert list(refused.value.field_violations) == ["expire_time"]
        assert "2262-04-11T23:47:16.854775807Z" in refused.value.field_violations["expire_time"]
        assert await admin.list_secrets(tenant="acme", install_id="app-1") == []
    assert await variant(host.get(md, "LATER")) == MISSING
    assert host.audit.events == []


async def test_no_token_reaches_another_installs_secrets(host: Host) -> None:
    mine = await host.install("acme", "app-1")
    sibling = await host.install("acme", "app-2")
    other_tenant = await host.install("globex", "app-1")
    async with host.admin() as admin:
        await admin.set_secret(tenant="acme", install_id="app-1", key="API_KEY", value="mine")
        await admin.set_secret(tenant="globex", install_id="app-1", key="OTHER", value="theirs")
    assert await host.get(mine, "API_KEY") == "mine"
    for md in (sibling, other_tenant):
        for key in ("API_KEY", "acme/app-1/API_KEY", "app-1/API_KEY", "acme:app-1:API_KEY"):
            assert await variant(host.get(md, key)) == MISSING
    assert await host.keys(sibling) == []
    assert await host.keys(other_tenant) == ["OTHER"]
    assert await variant(host.get(mine, "OTHER")) == MISSING
    for key in ("../app-2/API_KEY", "", "x" * 257, "bad\nkey"):
        error = await failure(host.get(mine, key))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, key
        assert "key" in (error.details() or "")


async def test_without_the_capability_get_is_denied_and_list_is_not_an_empty_answer(
    host: Host,
) -> None:
    md = await host.install("acme", "app-1", capabilities=("cap:log.emit",))
    async with host.admin() as admin:
        await admin.set_secret(tenant="acme", install_id="app-1", key="API_KEY", value="v")
    assert await variant(host.get(md, "API_KEY")) == "SECRET_ERROR_DENIED"
    error = await failure(host.keys(md))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    info = error_info(error)
    assert info is not None
    assert (info.reason, info.metadata["capability"]) == ("CAPABILITY_DENIED", GET)


async def test_admin_roles_and_unknown_installs(host: Host) -> None:
    await host.install("acme", "app-1")
    names = {"tenant": "acme", "install_id": "app-1"}
    for token, code in (
        (None, grpc.StatusCode.UNAUTHENTICATED),
        (READER_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
        (OTHER_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
    ):
        async with host.admin(token) as admin:
            with pytest.raises(SecretsAdminError) as refused:
                await admin.set_secret(key="K", value="v", **names)
            assert refused.value.code == code
            with pytest.raises(SecretsAdminError) as refused:
                await admin.delete_secret(key="K", **names)
            assert refused.value.code == code
    async with host.admin(OTHER_TOKEN) as admin:
        with pytest.raises(SecretsAdminError) as refused:
            await admin.list_secrets(**names)
        assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
    async with host.admin() as admin:
        assert await admin.list_secrets(**names) == []
        await admin.set_secret(key="K", value="v", **names)
    async with host.admin(READER_TOKEN) as reader:
        assert [s.key for s in await reader.list_secrets(**names)] == ["K"]
    assert [e.action for e in host.audit.events] == ["secret.set"]

    async with host.admin() as admin:
        with pytest.raises(SecretsAdminError) as unknown:
            await admin.set_secret(tenant="acme", install_id="nope", key="K", value="v")
        assert unknown.value.code == grpc.StatusCode.NOT_FOUND
        assert "nope" in str(unknown.value)
        with pytest.raises(SecretsAdminError) as unknown:
            await admin.list_secrets(tenant="initech", install_id="app-1")
        assert unknown.value.code == grpc.StatusCode.NOT_FOUND
        for bad, field in (
            ({"key": "", "value": "v"}, "key"),
            ({"key": "-lead", "value": "v"}, "key"),
            ({"key": "K", "value": ""}, "value"),
            ({"key": "K", "value": "v" * 65537}, "value"),
        ):
            with pytest.raises(SecretsAdminError) as invalid:
                await admin.set_secret(**names, **bad)  # type: ignore[arg-type]
            assert invalid.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert field in invalid.value.field_violations, bad
        with pytest.raises(SecretsAdminError) as invalid:
            await admin.set_secret(tenant="", install_id="app-1", key="K", value="v")
        assert "tenant" in invalid.value.field_violations


async def test_rotation_keeps_old_values_and_rewrap_moves_them_all(host: Host) -> None:
    md = await host.install("acme", "app-1")
    directory = host.service.secrets.key_dir
    first = keys.SecretKeyRing.load(directory).active_id
    assert (directory / f"{first}.key").stat().st_mode & 0o777 == 0o600
    assert directory.stat().st_mode & 0o777 == 0o700
    async with host.admin() as admin:
        old = await admin.set_secret(tenant="acme", install_id="app-1", key="OLD", value="o")
        second = keys.rotate(directory)
        new = await admin.set_secret(tenant="acme", install_id="app-1", key="NEW", value="n")
        assert (old.key_id, new.key_id) == (first, second)
        assert await host.get(md, "OLD") == "o"

        vault = host.service.secrets.serving.current
        done = await vault.rewrap()
        assert (done.rewrapped, done.current, done.skipped) == (1, 1, 0)
        listed = await admin.list_secrets(tenant="acme", install_id="app-1")
        assert {s.key_id for s in listed} == {second}
        (directory / f"{first}.key").unlink()
        assert await host.get(md, "OLD") == "o"
        assert await host.get(md, "NEW") == "n"
        again = await vault.rewrap()
        assert (again.rewrapped, again.current) == (0, 2)


async def test_a_removed_key_or_a_moved_ciphertext_is_internal(host: Host) -> None:
    a = await host.install("acme", "app-1")
    b = await host.install("acme", "app-2")
    store = host.service.secrets.store
    async with host.admin() as admin:
        await admin.set_secret(tenant="acme", install_id="app-1", key="X", value="value-of-a")
        await admin.set_secret(tenant="acme", install_id="app-1", key="Y", value="other")
        await admin.set_secret(tenant="acme", install_id="app-2", key="X", value="value-of-b")
    stolen = await store.get(SecretAddress("acme", "app-1", "X"))
    assert stolen is not None
    for target in (SecretAddress("acme", "app-2", "X"), SecretAddress("acme", "app-1", "Y")):
        await store.put(StoredSecret(target, stolen.sealed, None, stolen.updated_ns))
    for md, key in ((b, "X"), (a, "Y")):
        error = await failure(host.get(md, key))
        assert error.code() == grpc.StatusCode.INTERNAL
        assert await variant(host.get(md, key)) == INTERNAL
        assert "value-of" not in (error.details() or "")
    assert await host.get(a, "X") == "value-of-a"

    directory = host.service.secrets.key_dir
    first = keys.SecretKeyRing.load(directory).active_id
    keys.rotate(directory)
    (directory / f"{first}.key").unlink()
    host.key_clock.advance(keys.RECHECK_S)  # the running host's next look at its ring
    error = await failure(host.get(a, "X"))
    assert await variant(host.get(a, "X")) == INTERNAL
    assert "value-of-a" not in (error.details() or "")


async def test_a_host_started_without_the_ring_says_which_keys_are_missing(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(database_url, tmp_path / "first") as first:
        await first.install("acme", "app-1")
        async with first.admin() as admin:
            made = await admin.set_secret(tenant="acme", install_id="app-1", key="K", value="v")
    # The same database, another data dir: its key ring is a new one.
    async with serve(database_url, tmp_path / "second") as second:
        assert any(
            made.key_id in record.getMessage() and record.levelname == "ERROR"
            for record in caplog.records
        )
        async with InstallsClient(second.address, token=ISSUER_TOKEN) as issuer:
            issued = await issuer.issue_install_token(tenant="acme", install_id="app-1")
        assert await variant(second.get(token_metadata(issued.token), "K")) == INTERNAL


def test_a_key_dir_that_cannot_be_written_is_a_startup_error(tmp_path: Path) -> None:
    # Under a plain file: no mode bits to trust (tests may run as root).
    (tmp_path / "volume").write_text("")
    with pytest.raises(keys.SecretKeyError, match="cannot be given one"):
        keys.open_ring(tmp_path / "volume" / "keys")


def test_a_bad_key_file_names_the_file_and_never_its_content(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    kid = keys.rotate(directory)
    (directory / "sk-0000000000000000.key").write_bytes(b"bm90IGEga2V5\n")
    with pytest.raises(keys.SecretKeyError, match=r"sk-0000000000000000\.key") as caught:
        keys.SecretKeyRing.load(directory)
    assert "bm90IGEga2V5" not in str(caught.value)
    (directory / "sk-0000000000000000.key").unlink()
    assert keys.SecretKeyRing.load(directory).active_id == kid
