"""The runtime's public names are a contract with every service; changes must be deliberate."""

from __future__ import annotations

import ast
from pathlib import Path

import extplane.runtime

RUNTIME = Path(extplane.runtime.__file__).parent


def test_public_names_are_pinned() -> None:
    assert set(extplane.runtime.__all__) == {
        "ANONYMOUS",
        "server_credentials",
        "client_certificate_subject",
        "client_certificate",
        "TlsSettings",
        "ReloadingSslContext",
        "ClientTls",
        "ClientCertificate",
        "AUDIT_READER",
        "AUDIT_WRITER",
        "CHANNEL_OPTIONS",
        "EXTENSIONS_DISPATCH",
        "EXTENSIONS_EXECUTE",
        "INSTALLS_ADMIN",
        "INSTALLS_ISSUER",
        "INSTALLS_READER",
        "MAX_PAGE_SIZE",
        "METERING_READER",
        "METERING_WRITER",
        "NS_PER_S",
        "AsyncLifecycle",
        "AuthSettings",
        "Authorizer",
        "BadPageTokenError",
        "BearerToken",
        "Drainable",
        "FieldViolation",
        "GrpcServer",
        "GrpcServiceDefinition",
        "IngestPolicy",
        "InvalidRequestError",
        "Lifecycle",
        "LogBudget",
        "Metrics",
        "MetricsEndpoint",
        "Page",
        "PageTokens",
        "RetentionLoop",
        "RpcCall",
        "RpcObserver",
        "RpcOutcome",
        "ServiceKit",
        "Serving",
        "SinkSettings",
        "StatefulServiceSettings",
        "TimeWindow",
        "WriterGuard",
        "bounds",
        "configure_logging",
        "configure_tracing",
        "create_channel",
        "datetime_ns",
        "fill_page",
        "host_port",
        "is_loopback_host",
        "once_per_registry",
        "page_size",
        "port_field",
        "process_metrics",
        "remaining_timeout",
        "rfc3339",
        "run_until_signal",
        "text_problem",
        "timestamp_problem",
        "validate_batch",
        "validate_one",
    }
    for name in extplane.runtime.__all__:
        assert getattr(extplane.runtime, name) is not None


def _runtime_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("extplane.runtime"):
            found.update(alias.name for alias in node.names)
    return found


def test_services_use_only_the_public_surface() -> None:
    """What the services take from the runtime is what it pins (the surface is true)."""
    outside = [path for path in RUNTIME.parent.rglob("*.py") if RUNTIME not in path.parents]
    used = set().union(*(_runtime_imports(path) for path in outside))

    assert used, "no service imports the runtime: the scan is looking in the wrong place"
    assert used - set(extplane.runtime.__all__) == set()
