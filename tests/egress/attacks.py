"""The attack list of the egress guard, shared by the library tests and the tests
through the real host service.

Every URL aims at the canary (127.0.0.1, port `{c}`) or at a name the test
resolver maps into a refused range, under an allowlist of names only (plus
the origin's own address, 127.0.0.2, which exempts nothing else): each case
must be refused with the kind it names and the canary must count zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from extplane.host.egress.testing import StaticResolver

NOT_ALLOWED = "not-allowed"
INVALID = "invalid-url"


def attack_allowlist(canary: int, origin: int) -> list[str]:
    return [
        f"http://api.example.test:{canary}",
        "https://api.example.test",
        f"http://*.example.test:{canary}",
        "https://*.example.test",
        f"http://localhost:{canary}",
        "http://metadata.google.internal",
        "http://instance-data",
        f"http://127.0.0.2:{origin}",
    ]


# Names an attacker controls the DNS of: each resolves into a refused range.
RESOLVED: Mapping[str, Sequence[str]] = {
    "api.example.test": ["127.0.0.1"],
    "localhost": ["127.0.0.1", "::1"],
    "metadata.google.internal": ["169.254.169.254"],
    "instance-data": ["169.254.169.254"],
    "private.example.test": ["10.0.0.5"],
    "v6.example.test": ["::1"],
    "mapped.example.test": ["::ffff:127.0.0.1"],
    "nat64.example.test": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.example.test": ["2002:a9fe:a9fe::1"],
    "mixed.example.test": ["93.184.216.34", "127.0.0.1"],
    "zone.example.test": ["fe80::1%1"],
    "cgnat.example.test": ["100.64.0.1"],
    "ula.example.test": ["fd00:ec2::254"],
    "multicast.example.test": ["239.255.255.250"],
    "unspecified.example.test": ["0.0.0.0"],
    "bench.example.test": ["198.18.0.1"],
}


def attack_resolver() -> StaticResolver:
    return StaticResolver({name: [list(addresses)] for name, addresses in RESOLVED.items()})


@dataclass(frozen=True)
class Attack:
    id: str
    url: str
    kind: str

    def aimed(self, canary: int) -> str:
        return self.url.replace("{c}", str(canary))


def _cases(kind: str, *pairs: tuple[str, str]) -> list[Attack]:
    return [Attack(case_id, url, kind) for case_id, url in pairs]


ATTACKS: list[Attack] = [
    # Loopback, in every spelling.
    *_cases(
        NOT_ALLOWED,
        ("loopback", "http://127.0.0.1:{c}/"),
        ("loopback-short", "http://127.1:{c}/"),
        ("loopback-short3", "http://127.0.1:{c}/"),
        ("loopback-hex-dotted", "http://0x7f.0.0.1:{c}/"),
        ("loopback-hex", "http://0x7f000001:{c}/"),
        ("loopback-hex-upper", "http://0X7F000001:{c}/"),
        ("loopback-decimal", "http://2130706433:{c}/"),
        ("loopback-octal-long", "http://017700000001:{c}/"),
        ("loopback-hex-short", "http://0x7F.1:{c}/"),
        ("loopback-trailing-dot", "http://127.0.0.1.:{c}/"),
        ("loopback-other", "http://127.0.0.3:{c}/"),
        ("loopback-top", "http://127.255.255.254:{c}/"),
        ("v6-loopback", "http://[::1]:{c}/"),
        ("v6-loopback-long", "http://[0:0:0:0:0:0:0:1]:{c}/"),
        ("v4-mapped", "http://[::ffff:127.0.0.1]:{c}/"),
        ("v4-mapped-hex", "http://[::ffff:7f00:1]:{c}/"),
        ("v4-mapped-long", "http://[0:0:0:0:0:ffff:127.0.0.1]:{c}/"),
        ("v4-compatible", "http://[::127.0.0.1]:{c}/"),
        ("nat64", "http://[64:ff9b::7f00:1]:{c}/"),
        ("nat64-dotted", "http://[64:ff9b::127.0.0.1]:{c}/"),
        ("nat64-local", "http://[64:ff9b:1::7f00:1]:{c}/"),
        ("6to4", "http://[2002:7f00:1::]:{c}/"),
        ("teredo-client", "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{c}/"),
        ("teredo-server", "http://[2001:0:7f00:1::1]:{c}/"),
        ("localhost-name", "http://localhost:{c}/"),
        ("localhost-upper", "http://LOCALHOST:{c}/"),
        ("localhost-trailing-dot", "http://localhost.:{c}/"),
    ),
    *_cases(
        INVALID,
        ("loopback-octal", "http://0177.0.0.1:{c}/"),
        ("loopback-padded", "http://127.000.000.001:{c}/"),
        ("private-octal", "http://012.0.0.1:{c}/"),  # leading zeros: ambiguous, refused
        ("loopback-octal-bad", "http://0189.0.0.1:{c}/"),
        ("loopback-too-many", "http://127.0.0.0.1:{c}/"),
        ("loopback-overflow", "http://127.0.0.256:{c}/"),
        ("v6-zone", "http://[fe80::1%25lo]:{c}/"),
        ("v6-zone-loopback", "http://[::1%25lo]:{c}/"),
    ),
    # Unspecified.
    *_cases(
        NOT_ALLOWED,
        ("unspecified", "http://0.0.0.0:{c}/"),
        ("unspecified-zero", "http://0:{c}/"),
        ("unspecified-hex", "http://0x0:{c}/"),
        ("v6-unspecified", "http://[::]:{c}/"),
        ("mapped-unspecified", "http://[::ffff:0.0.0.0]:{c}/"),
    ),
    # Private, CGNAT, metadata, link-local, unique-local.
    *_cases(
        NOT_ALLOWED,
        ("private-10", "http://10.0.0.1:{c}/"),
        ("private-10-top", "http://10.255.255.255:{c}/"),
        ("private-172", "http://172.16.0.1:{c}/"),
        ("private-172-top", "http://172.31.255.254:{c}/"),
        ("private-192", "http://192.168.1.1:{c}/"),
        ("private-hex", "http://0xa000001:{c}/"),
        ("private-decimal", "http://167772161:{c}/"),
        ("ula", "http://[fd00::1]:{c}/"),
        ("ula-fc", "http://[fc00::1]:{c}/"),
        ("mapped-private", "http://[::ffff:10.0.0.1]:{c}/"),
        ("nat64-private", "http://[64:ff9b::a00:1]:{c}/"),
        ("6to4-private", "http://[2002:a00:1::]:{c}/"),
        ("cgnat", "http://100.64.0.1:{c}/"),
        ("cgnat-top", "http://100.127.255.254:{c}/"),
        ("metadata", "http://169.254.169.254/latest/meta-data/"),
        ("metadata-hex", "http://0xa9fea9fe/"),
        ("metadata-decimal", "http://2852039166/"),
        ("metadata-v6", "http://[fd00:ec2::254]/"),
        ("metadata-mapped", "http://[::ffff:169.254.169.254]/"),
        ("metadata-nat64", "http://[64:ff9b::a9fe:a9fe]/"),
        ("link-local-v6", "http://[fe80::1]:{c}/"),
        ("metadata-name", "http://metadata.google.internal/computeMetadata/v1/"),
        ("metadata-name-aws", "http://instance-data/latest/"),
    ),
    # Reserved, multicast, broadcast, benchmarking, documentation.
    *_cases(
        NOT_ALLOWED,
        ("reserved", "http://240.0.0.1:{c}/"),
        ("broadcast", "http://255.255.255.255:{c}/"),
        ("multicast", "http://224.0.0.1:{c}/"),
        ("multicast-ssdp", "http://239.255.255.250:{c}/"),
        ("benchmarking", "http://198.18.0.1:{c}/"),
        ("benchmarking-top", "http://198.19.255.255:{c}/"),
        ("documentation-1", "http://192.0.2.1:{c}/"),
        ("documentation-2", "http://198.51.100.1:{c}/"),
        ("documentation-3", "http://203.0.113.1:{c}/"),
        ("ietf-protocol", "http://192.0.0.1:{c}/"),
        ("v6-multicast", "http://[ff02::1]:{c}/"),
        ("v6-documentation", "http://[2001:db8::1]:{c}/"),
        ("v6-discard", "http://[100::1]:{c}/"),
        ("v6-documentation-new", "http://[3fff::1]:{c}/"),
        ("v6-site-local", "http://[fec0::1]:{c}/"),
    ),
    # Parser confusion: the host the check sees is the host dialled, or none is.
    *_cases(
        INVALID,
        ("userinfo-host", "http://api.example.test@127.0.0.1:{c}/"),
        ("userinfo-full", "http://user:pass@api.example.test:{c}/"),
        ("userinfo-port", "http://api.example.test:{c}@127.0.0.1:{c}/"),
        ("backslash-at", "http://127.0.0.1:{c}\\@api.example.test/"),
        ("backslash-dot", "http://127.0.0.1:{c}\\.api.example.test/"),
        ("backslash-scheme", "http:\\\\127.0.0.1:{c}/"),
        ("backslash-mixed", "http:/\\127.0.0.1:{c}/"),
        ("no-scheme", "//127.0.0.1:{c}/"),
        ("no-slashes", "http:127.0.0.1:{c}/"),
        ("encoded-slash-userinfo", "http://127.0.0.1%2f@api.example.test:{c}/"),
        ("v6-userinfo", "http://[::1]@api.example.test:{c}/"),
        ("nul-in-host", "http://api.example.test%00.127.0.0.1:{c}/"),
        ("tab-in-host", "http://api.example\t.test:{c}/"),
        ("newline-in-url", "http://api.example.test:{c}/\r\nHost: 127.0.0.1"),
        ("space-in-host", "http://api.example.test :{c}/"),
    ),
    *_cases(
        NOT_ALLOWED,
        ("fragment-at", "http://127.0.0.1:{c}#@api.example.test/"),
        ("query-at", "http://127.0.0.1:{c}?@api.example.test/"),
    ),
    # Encodings and Unicode dots: read as the address they spell, or refused.
    *_cases(
        INVALID,
        ("percent-host", "http://%31%32%37.0.0.1:{c}/"),
        ("percent-dots", "http://127%2e0%2e0%2e1:{c}/"),
        ("fullwidth-digits", "http://\uff11\uff12\uff17.0.0.1:{c}/"),
        ("circled-letters", "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:{c}/"),
        ("underscore-host", "http://api_example.test:{c}/"),
    ),
    *_cases(
        NOT_ALLOWED,
        ("ideographic-dots", "http://127\u30020\u30020\u30021:{c}/"),
        ("fullwidth-dots", "http://127\uff0e0\uff0e0\uff0e1:{c}/"),
        ("halfwidth-dots", "http://127\uff610\uff610\uff611:{c}/"),
        ("unicode-dots-name", "http://api\u3002example\u3002test:{c}/"),
        ("mixed-case-name", "http://API.Example.TEST:{c}/"),
    ),
    # Suffix and wildcard confusion: nothing outside the entries matches.
    *_cases(
        NOT_ALLOWED,
        ("wildcard-apex", "https://example.test/"),
        ("suffix-glued", "https://evilexample.test/"),
        ("suffix-appended", "https://api.example.test.evil.test/"),
        ("suffix-label", "https://api.example.testx/"),
        ("suffix-prefix", "https://example.test.evil/"),
        ("exact-subdomain", "http://sub.localhost:{c}/"),
        ("http-not-named", "http://api.example.test/"),
        ("port-not-named", "https://api.example.test:8443/"),
        ("port-default-explicit-http", "http://api.example.test:80/"),
    ),
    # Schemes other than http and https.
    *_cases(
        INVALID,
        ("file", "file:///etc/passwd"),
        ("file-host", "file://127.0.0.1/etc/passwd"),
        ("gopher", "gopher://127.0.0.1:{c}/_GET%20/"),
        ("dict", "dict://127.0.0.1:{c}/info"),
        ("ftp", "ftp://api.example.test/"),
        ("ws", "ws://api.example.test:{c}/"),
        ("wss", "wss://api.example.test/"),
        ("javascript", "javascript:alert(1)"),
        ("data", "data:text/plain,hi"),
        ("jar", "jar:http://api.example.test!/"),
        ("ldap", "ldap://127.0.0.1:{c}/"),
        ("empty", ""),
        ("relative", "/etc/passwd"),
    ),
    # Ports.
    *_cases(
        INVALID,
        ("port-zero", "https://api.example.test:0/"),
        ("port-too-big", "https://api.example.test:65536/"),
        ("port-huge", "https://api.example.test:99999999/"),
        ("port-negative", "https://api.example.test:-1/"),
        ("port-letters", "https://api.example.test:443abc/"),
    ),
    # Allowed names whose addresses are refused (resolved by the host, every address).
    *_cases(
        NOT_ALLOWED,
        ("name-to-loopback", "http://api.example.test:{c}/"),
        ("name-to-private", "http://private.example.test:{c}/"),
        ("name-to-v6-loopback", "http://v6.example.test:{c}/"),
        ("name-to-mapped", "http://mapped.example.test:{c}/"),
        ("name-to-nat64-metadata", "http://nat64.example.test:{c}/"),
        ("name-to-6to4-metadata", "http://sixtofour.example.test:{c}/"),
        ("name-to-mixed", "http://mixed.example.test:{c}/"),
        ("name-to-zone", "http://zone.example.test:{c}/"),
        ("name-to-cgnat", "http://cgnat.example.test:{c}/"),
        ("name-to-ula-metadata", "http://ula.example.test:{c}/"),
        ("name-to-multicast", "http://multicast.example.test:{c}/"),
        ("name-to-unspecified", "http://unspecified.example.test:{c}/"),
        ("name-to-benchmarking", "http://bench.example.test:{c}/"),
        ("https-name-to-loopback", "https://api.example.test/"),
    ),
]

# Redirect targets the origin (127.0.0.2, allowed) sends the guard to.
REDIRECT_TARGETS: list[Attack] = [
    *_cases(
        NOT_ALLOWED,
        ("to-loopback", "http://127.0.0.1:{c}/"),
        ("to-loopback-short", "http://127.1:{c}/"),
        ("to-v6-loopback", "http://[::1]:{c}/"),
        ("to-mapped", "http://[::ffff:127.0.0.1]:{c}/"),
        ("to-name-loopback", "http://api.example.test:{c}/"),
        ("to-localhost", "http://localhost:{c}/"),
        ("to-metadata", "http://169.254.169.254/latest/meta-data/"),
        ("to-metadata-name", "http://metadata.google.internal/"),
        ("to-private", "http://10.0.0.1:{c}/"),
        ("to-protocol-relative", "//127.0.0.1:{c}/"),
        ("to-unlisted", "https://elsewhere.test/"),
    ),
    *_cases(
        INVALID,
        ("to-file", "file:///etc/passwd"),
        ("to-gopher", "gopher://127.0.0.1:{c}/_x"),
        ("to-dict", "dict://127.0.0.1:{c}/"),
        ("to-backslash", "http:\\\\127.0.0.1:{c}/"),
        ("to-userinfo", "http://api.example.test@127.0.0.1:{c}/"),
    ),
]
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
