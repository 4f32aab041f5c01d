"""Install values as the contract's messages."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.host.installs.model import Install, Limits
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb


def _timestamp(ns: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(ns)
    return stamp


def limits_proto(limits: Limits) -> pb.InstallLimits:
    return pb.InstallLimits(
        storage_value_bytes=limits.storage_value_bytes,
        storage_keys_per_namespace=limits.storage_keys_per_namespace,
        storage_bytes=limits.storage_bytes,
        log_records_per_minute=limits.log_records_per_minute,
    )


def install_proto(install: Install) -> pb.Install:
    settings = install.settings
    return pb.Install(
        tenant=install.tenant,
        install_id=install.install_id,
        extension_id=install.extension_id,
        version=settings.version,
        granted_capabilities=settings.capabilities,
        enabled=install.enabled,
        egress_allowlist=settings.egress_allowlist,
        ui_proxy_routes=[
            pb.UiProxyRoute(
                route=r.route,
                upstream_url=r.upstream_url,
                secret_key=r.secret_key,
                secret_header=r.secret_header,
            )
            for r in settings.ui_proxy_routes
        ],
        limits=limits_proto(settings.limits),
        revision=install.revision,
        create_time=_timestamp(install.created_ns),
        update_time=_timestamp(install.updated_ns),
    )
