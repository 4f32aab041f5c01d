"""The attack list against the guard itself: every case refused with its kind,
nothing dialled, the canary untouched. Redirects from an allowed origin to
refused destinations, and DNS rebinding, likewise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from extplane.host.egress import Allowlist, EgressError, EgressGuard, OutboundRequest
from extplane.host.egress.testing import LoopbackOnlyDialer, StaticResolver
from tests.egress.attacks import (
    ATTACKS,
    REDIRECT_STATUSES,
    REDIRECT_TARGETS,
    Attack,
    attack_allowlist,
    attack_resolver,
)
from tests.egress.origin import Canary, Origin


@pytest.fixture
async def origin2() -> AsyncIterator[Origin]:
    """The one allowed origin of the attack allowlist, on 127.0.0.2."""
    async with Origin(host="127.0.0.2") as served:
        yield served


async def _refused(guard: EgressGuard, url: str, allowlist: Allowlist) -> EgressError:
    with pytest.raises(EgressError) as raised:
        await guard.send(OutboundRequest("GET", url), allowlist)
    return raised.value


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
async def test_each_attack_is_refused_before_any_connection(
    attack: Attack, canary: Canary, origin2: Origin, dialer: LoopbackOnlyDialer
) -> None:
    resolver = attack_resolver()
    guard = EgressGuard(resolver=resolver, network_backend=dialer)
    allowlist = Allowlist.parse(attack_allowlist(canary.port, origin2.port))
    error = await _refused(guard, attack.aimed(canary.port), allowlist)
    assert error.kind == attack.kind, error.detail
    assert dialer.dialled == []
    assert canary.hits == 0
    assert "?" not in error.detail
    assert "meta-data" not in error.detail


@pytest.mark.parametrize("status", REDIRECT_STATUSES)
@pytest.mark.parametrize("attack", REDIRECT_TARGETS, ids=lambda a: a.id)
async def test_a_redirect_to_a_refused_destination_is_refused(
    attack: Attack, status: int, canary: Canary, origin2: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = EgressGuard(resolver=attack_resolver(), network_backend=dialer)
    allowlist = Allowlist.parse(attack_allowlist(canary.port, origin2.port))
    to = quote(attack.aimed(canary.port), safe="")
    url = f"http://127.0.0.2:{origin2.port}/redirect?status={status}&to={to}"
    error = await _refused(guard, url, allowlist)
    assert error.kind == attack.kind, error.detail
    assert error.detail.startswith("redirect 1: ")
    assert [seen.target.split("?")[0] for seen in origin2.seen] == ["/redirect"]
    assert dialer.dialled == [("127.0.0.2", origin2.port)]
    assert canary.hits == 0


async def _same_port_pair() -> tuple[Origin, Canary]:
    """An origin on 127.0.0.2 and a canary on 127.0.0.1 at the same port."""
    for _ in range(20):
        origin = await Origin(host="127.0.0.2").start()
        try:
            return origin, await Canary(host="127.0.0.1", port=origin.port).start()
        except OSError:
            await origin.close()
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


async def test_dns_rebinding_cannot_move_a_checked_connection(dialer: LoopbackOnlyDialer) -> None:
    """The name first resolves to the allowed origin, then to loopback: the guard
    asks once per fetch and dials what it checked, so the second answer only
    refuses the next fetch; the canary on the same port never sees a connection."""
    origin, canary = await _same_port_pair()
    try:
        resolver = StaticResolver({"rebind.example.test": [["127.0.0.2"], ["127.0.0.1"]]})
        guard = EgressGuard(resolver=resolver, network_backend=dialer)
        allowlist = Allowlist.parse([f"http://rebind.example.test:{origin.port}", "127.0.0.2"])
        url = f"http://rebind.example.test:{origin.port}/echo"
        first = await guard.send(OutboundRequest("GET", url), allowlist)
        assert first.status == 200
        assert resolver.asked == [("rebind.example.test", origin.port)]
        error = await _refused(guard, url, allowlist)
        assert error.kind == "not-allowed"
        assert "loopback" in error.detail
        assert dialer.dialled == [("127.0.0.2", origin.port)]
        assert len(origin.seen) == 1
        assert canary.hits == 0
    finally:
        await canary.close()
        await origin.close()


async def test_the_attack_list_is_as_large_as_the_issue_asks() -> None:
    assert len(ATTACKS) + len(REDIRECT_TARGETS) * len(REDIRECT_STATUSES) >= 80
    assert len({a.id for a in ATTACKS}) == len(ATTACKS)
