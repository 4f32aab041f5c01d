"""An extension version as the registry keeps it: plain values, no protos.

A version is immutable once uploaded: uploading it again with exactly the
same content (handler, declared capabilities, limits) answers the stored
version; anything else under the same (extension, version) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """What one execution may use; 0 takes the runner's default (fuel 0: none)."""

    timeout_ms: int = 0
    memory_bytes: int = 0
    fuel: int = 0


@dataclass(frozen=True, slots=True)
class ComponentRef:
    """A component by content: sha256 (lower-case hex), size, its imports sorted."""

    sha256: str
    size_bytes: int
    imports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExtensionVersion:
    extension_id: str
    version: str
    declared_capabilities: tuple[str, ...]
    limits: Limits
    component: ComponentRef | None
    grpc_address: str | None
    created_ns: int

    @property
    def resource(self) -> str:
        """How audit events name it."""
        return f"extension/{self.extension_id}@{self.version}"
