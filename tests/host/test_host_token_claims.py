"""What a token carries survives issue and verification; the cache stays bounded."""

from __future__ import annotations

from extplane.host import InstallTokenIssuer, InstallTokenVerifier, UserClaims
from extplane.host.token_cache import VerifiedTokenCache


def test_every_claim_round_trips(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    user = UserClaims(
        user_id="u-1",
        user_name="Ada",
        user_email="ada@example.com",
        user_type="internal",
        client_name="Acme",
        client_id="c-9",
        additional_fields=(("zeta", "1"), ("alpha", "2")),
    )
    token = issuer.issue(
        tenant_id="t",
        extension_id="e",
        install_id="i",
        version_id="2.0.0",
        request_id="r",
        user=user,
        capabilities=["cap:user.read", "cap:context.read"],
    )

    claims = verifier.verify(token)

    assert claims.user == user  # additional fields keep the platform's order
    assert claims.capabilities == {"cap:user.read", "cap:context.read"}
    assert (claims.version_id, claims.request_id) == ("2.0.0", "r")
    assert claims.expires_at - claims.issued_at == 300
    assert claims.actor == "extension/e@i"
    assert claims.token_id


def test_each_token_has_its_own_id(issuer: InstallTokenIssuer) -> None:
    tokens = {
        issuer.issue(tenant_id="t", extension_id="e", install_id="i", capabilities=[])
        for _ in range(20)
    }
    assert len(tokens) == 20


def test_the_cache_keeps_at_most_its_size_least_recently_used_out(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    claims = verifier.verify(
        issuer.issue(tenant_id="t", extension_id="e", install_id="i", capabilities=[])
    )
    cache = VerifiedTokenCache(max_entries=2)
    cache.put(b"a", claims, valid_until=100)
    cache.put(b"b", claims, valid_until=100)
    assert cache.get(b"a", now=0) is claims  # "a" is now the most recent
    cache.put(b"c", claims, valid_until=100)

    assert len(cache) == 2
    assert cache.get(b"b", now=0) is None
    assert cache.get(b"a", now=0) is claims
    assert cache.get(b"c", now=100) is None  # expired entries go at lookup
    assert len(cache) == 1
