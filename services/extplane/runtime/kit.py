"""What every stateful service is built with: one `ServiceKit` per process.

The suite makes it once from the settings and hands the same one to every
service, so all of them check bearer tokens with one `Authorizer`, sign page
tokens with one deployment key, report into one metrics registry and read
one clock. Tests build their own (`ServiceKit.for_directory`).

The page token key is read (or made) on first use, so a service that lists
nothing never touches the data directory; one that does uses `page_tokens`
in its `start()`, so a bad key stops the start rather than a request.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from extplane.errors import StartupError
from extplane.runtime.auth import Authorizer, AuthSettings
from extplane.runtime.page_tokens import KEY_BYTES, PageTokens
from extplane.runtime.process_metrics import process_metrics
from extplane.runtime.writers import IngestPolicy, WriterGuard
from extplane.storage.private_files import write_private_file_once
from extplane_client.tls import ClientTls

PAGE_TOKEN_KEY_FILE = "page-token.key"

_logger = logging.getLogger(__name__)


def _process_registry() -> CollectorRegistry:
    return process_metrics().registry


@dataclass
class ServiceKit:
    data_dir: Path
    authorizer: Authorizer
    page_token_key: Callable[[], bytes]
    # False when the key is this process's own (made in its data directory).
    page_token_key_configured: bool = False
    registry: CollectorRegistry = field(default_factory=_process_registry)
    # Wall clock, ns since the epoch; tests move it.
    clock_ns: Callable[[], int] = time.time_ns
    # Where the process's servers listen, and whether they require client
    # certificates: together they decide whether sinks may take anonymous writes.
    bind_host: str = "127.0.0.1"
    client_certificates_required: bool = False
    # How this process's services dial other services (None: plaintext).
    client_tls: ClientTls | None = None
    # Where this deployment serves a fully-qualified gRPC service (the suite's
    # resolution, bound ports included); None outside a suite. Read it in
    # `start()`: a port may be known only once its server is bound.
    upstream_for: Callable[[str], str] | None = None
    _page_tokens: PageTokens | None = field(default=None, init=False, repr=False)

    @property
    def page_tokens(self) -> PageTokens:
        """The deployment's page tokens (reads or makes the key on first use)."""
        if self._page_tokens is None:
            self._page_tokens = PageTokens(self.page_token_key())
        return self._page_tokens

    def load_page_tokens(self, *, shared_store: bool) -> None:
        """Load the key now, in a service's `start()` (a bad key stops the start, not a
        request), and say so when replicas behind one address would not share it."""
        _ = self.page_tokens
        if shared_store and not self.page_token_key_configured:
            _logger.warning(
                "page tokens are signed with a key of this process's own (%s): replicas "
                "sharing this database refuse each other's tokens; set page_token_key "
                "(EXTPLANE_PAGE_TOKEN_KEY) to one value for all of them",
                self.data_dir / PAGE_TOKEN_KEY_FILE,
            )

    def writer_guard(self, role: str) -> WriterGuard:
        """The check a sink makes of each writer (`extplane.runtime.writers`)."""
        policy = IngestPolicy(
            self.authorizer,
            bind_host=self.bind_host,
            client_certificates_required=self.client_certificates_required,
            allow_unauthenticated=self.authorizer.allow_unauthenticated_ingest,
        )
        return policy.guard(role)

    @classmethod
    def for_directory(
        cls,
        data_dir: Path,
        *,
        auth: AuthSettings | None = None,
        page_token_key: SecretStr | None = None,
        registry: CollectorRegistry | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        bind_host: str = "127.0.0.1",
        client_certificates_required: bool = False,
        client_tls: ClientTls | None = None,
    ) -> ServiceKit:
        """The kit of a deployment whose embedded data lives in `data_dir`."""
        return cls(
            data_dir=data_dir,
            authorizer=Authorizer(auth or AuthSettings()),
            page_token_key=lambda: page_token_key_bytes(page_token_key, data_dir),
            page_token_key_configured=page_token_key is not None,
            registry=registry if registry is not None else process_metrics().registry,
            clock_ns=clock_ns,
            bind_host=bind_host,
            client_certificates_required=client_certificates_required,
            client_tls=client_tls,
        )


def page_token_key_bytes(configured: SecretStr | None, data_dir: Path) -> bytes:
    """The configured key, or the one in `data_dir` (made on first start, 0600).

    Replicas that share a database (PostgreSQL) must be configured with the same
    key, or a page token from one is refused by the next.
    """
    if configured is not None:
        return configured.get_secret_value().encode()
    path = data_dir / PAGE_TOKEN_KEY_FILE
    if not path.exists():
        write_private_file_once(path, secrets.token_hex(KEY_BYTES).encode())
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise StartupError(f"cannot read the page token key {path}: {error.strerror}") from None
    if len(key) < 32:
        raise StartupError(
            f"the page token key {path} is shorter than 32 characters; delete it to make a new one"
        )
    return key
