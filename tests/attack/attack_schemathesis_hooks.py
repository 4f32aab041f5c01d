"""schemathesis hooks for the gateway run (loaded through SCHEMATHESIS_HOOKS).

`positive_data_acceptance` fails any schema-valid request that gets a 400. A
few of the services' rules span several fields or depend on the log's state,
which OpenAPI cannot declare: each operation's description states them (see
the RPC comments in the protos). `documented_positive_data_acceptance` runs
schemathesis' own check, and lets a 400 pass only when the request really
breaks one of those stated rules, judged here from the request alone, and the
answer names exactly the fields that rule names. A 400 for anything else, or
one that names another field, stays a failure.

The rules, as the descriptions state them:
* `end_time` must be after `start_time` (GetUsage: the end defaults to now,
  and the answer names `start_time` then);
* GetUsage with a window may span at most 10,000 windows (`window`), and
  names a dimension at most once in any spelling (`group_by[i]`, the repeat; the schema's
  `uniqueItems` only sees the spellings);
* a `page_token` must be one the API issued (a generated token never is);
* VerifyAuditLog: a non-zero `to_sequence` not below `from_sequence`, and
  `from_sequence` not beyond the head of the log (`ATTACK_AUDIT_HEAD`);
* the admin routes (`/v1/admin/...`): a tenant, install id, extension id,
  version and secret key of the shapes docs/host.md states. The OpenAPI
  declares only their length and "no control characters" (the bounds option
  has no `pattern` yet), so a 400 naming one of them passes when the request's
  value really breaks the shape, judged with the host's own pure shape checks.
  A catalog file (`content`) must hold rows of the format: judged by parsing
  it with the host's own reader, as the service does before storing anything.
  An extension upload's handler, declared capabilities and component are
  judged with the registry's own pure checks (the component by compiling it);
* an install may pick only a version the extension registry holds once the
  extension has any (FAILED_PRECONDITION naming `version`): the registry's
  state is the run's (the same run uploads versions), so the answer's own
  code and message are what is judged.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import schemathesis
from google.protobuf import json_format
from hypothesis import strategies as st
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    AcceptedNegativeData,
    negative_data_rejection,
    positive_data_acceptance,
)

from extplane.host.catalogs.catalog_file import Format, clients_in, services_in
from extplane.host.extensions import validation as extension_validation
from extplane.host.installs import shapes, tokens, validation
from extplane.host.secrets.names import check_secret_key
from extplane.runner.component_check import ComponentError, check_component, validation_engine
from extplane.runtime import InvalidRequestError, bounds
from extplane_protos.extplane.admin.v1 import extensions_pb2, installs_pb2

# protojson writes a 64-bit integer as a decimal string (the OpenAPI says
# `type: string, format: int64`); schemathesis does not know the format, so
# would send "" or words for it. These are the strings the format names.
schemathesis.openapi.format("int64", st.integers(-(2**63), 2**63 - 1).map(str))
schemathesis.openapi.format("uint64", st.integers(0, 2**64 - 1).map(str))

NS_PER_S = 1_000_000_000
MIN_NS, MAX_NS = -(2**63), 2**63 - 1
MAX_USAGE_WINDOWS = 10_000
WINDOW_NS = {"minute": 60, "hour": 3600, "day": 86_400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant_ns(text: object) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000


def _first(query: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = query.get(name)
        if value is not None:
            return value[-1] if isinstance(value, list) and value else value
    return None


def _window_ns(value: object) -> int | None:
    text = str(value).lower().removeprefix("usage_window_")
    seconds = WINDOW_NS.get(text) or dict(zip("123", WINDOW_NS.values(), strict=True)).get(text)
    return seconds * NS_PER_S if seconds else None


_DIMENSIONS = {"namespace": 1, "task": 2, "agent": 3, "model": 4}


def _dimension(value: object) -> int | None:
    text = str(value).lower().removeprefix("usage_dimension_")
    return _DIMENSIONS.get(text) or (int(text) if text.isdigit() else None)


def _all(query: Mapping[str, Any], *names: str) -> list[Any]:
    for name in names:
        value = query.get(name)
        if value is not None:
            return value if isinstance(value, list) else [value]
    return []


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def documented_refusals(path: str, query: Mapping[str, Any]) -> set[str]:
    """The fields a 400 may name for this request under the stated rules."""
    fields: set[str] = set()
    if _first(query, "pageToken", "page_token"):
        fields.add("page_token")
    start = _instant_ns(_first(query, "startTime", "start_time"))
    end = _instant_ns(_first(query, "endTime", "end_time"))
    if path == "/v1/metering/usage" and start is not None:
        given_end = end is not None
        end = end if end is not None else time.time_ns()
        if end <= start:
            fields.add("end_time" if given_end else "start_time")
        dimensions = [_dimension(v) for v in _all(query, "groupBy", "group_by")]
        fields.update(
            f"group_by[{index}]"
            for index, dimension in enumerate(dimensions)
            if dimension in dimensions[:index]
        )
        window = _window_ns(_first(query, "window"))
        if window is not None:
            first = max(MIN_NS, min(MAX_NS, start)) // window * window
            if -(-(max(MIN_NS, min(MAX_NS, end)) - first) // window) > MAX_USAGE_WINDOWS:
                fields.add("window")
    elif start is not None and end is not None and end <= start:
        fields.add("end_time")
    extension_id = _first(query, "extensionId", "extension_id")
    if (
        path == "/v1/admin/extensions"
        and isinstance(extension_id, str)
        and extension_id
        and shapes.extension_id_problem(extension_id) is not None
    ):
        fields.add("extension_id")
    if path == "/v1/audit/verify":
        from_sequence = _int(_first(query, "fromSequence", "from_sequence"))
        to_sequence = _int(_first(query, "toSequence", "to_sequence"))
        if to_sequence and to_sequence < from_sequence:
            fields.add("to_sequence")
        if from_sequence > int(os.environ.get("ATTACK_AUDIT_HEAD", "0")):
            fields.add("from_sequence")
    return fields


# The admin name fields, as the path or the body (camelCase) spells them.
_SHAPES = {
    "tenant": ("tenant", shapes.id_problem),
    "install_id": ("installId", shapes.id_problem),
    "extension_id": ("extensionId", shapes.extension_id_problem),
    "version": ("version", shapes.version_problem),
}


def _secret_key_problem(value: str) -> str | None:
    try:
        check_secret_key("key", value)
    except InvalidRequestError as refused:
        return str(refused)
    return None


def _catalog_problem(path: str, body: Mapping[str, Any]) -> bool:
    try:
        content = base64.b64decode(str(body.get("content", "")), validate=True)
    except (binascii.Error, ValueError):
        return True
    text = str(body.get("format", "")).upper()
    chosen = Format.CSV if text in ("CATALOG_FILE_FORMAT_CSV", "2") else Format.JSON
    reader = clients_in if path.endswith("clients:load") else services_in
    try:
        reader(content, chosen)
    except InvalidRequestError:
        return True
    return False


def admin_refusals(path: str, path_parameters: Mapping[str, Any], body: object) -> set[str]:
    """The admin fields a 400 may name for this request under the stated shapes."""
    if not path.startswith("/v1/admin/"):
        return set()
    given = body if isinstance(body, Mapping) else {}
    # What the service sees of a path parameter: the gateway decodes %XX.
    path_parameters = {
        name: unquote(value) if isinstance(value, str) else value
        for name, value in path_parameters.items()
    }
    fields: set[str] = set()
    for name, (json_name, problem) in _SHAPES.items():
        for value in (path_parameters.get(name), given.get(json_name)):
            if isinstance(value, str) and problem(value) is not None:
                fields.add(name)
    key = path_parameters.get("key", given.get("key"))
    if isinstance(key, str) and "/secrets" in path and _secret_key_problem(key):
        fields.add("key")
    if path.endswith(":load") and _catalog_problem(path, given):
        fields.add("content")
    if path == "/v1/admin/tenants/{tenant}/installs":
        fields |= _refused_by(lambda: validation.registered(_register(path_parameters, given)))
    if path == "/v1/admin/tenants/{tenant}/installs/{install_id}" and given:
        fields |= _refused_by(lambda: validation.updated(_update(given), _CURRENT))
    audience = given.get("audience")
    if path.endswith(":issueToken") and isinstance(audience, str):
        fields |= _refused_by(lambda: tokens._audience(audience))
    if "/secrets/" in path and _expiry_refused(given.get("expireTime")):
        fields.add("expire_time")
    if path == "/v1/admin/extensions/{extension_id}/versions":
        fields |= _upload_refusals(path_parameters, given)
    return fields


def _upload_refusals(path_parameters: Mapping[str, Any], body: Mapping[str, Any]) -> set[str]:
    request = extensions_pb2.UploadExtensionVersionRequest()
    try:
        json_format.ParseDict(body, request, ignore_unknown_fields=True)
    except json_format.ParseError:
        return set()
    request.extension_id = str(path_parameters.get("extension_id", ""))
    # The limits' ranges are declared, but on 64-bit fields (strings in JSON).
    fields = {violation.field for violation in bounds.violations(request)}
    fields |= _refused_by(lambda: extension_validation.uploaded(request))
    if request.WhichOneof("handler") == "component":
        try:
            check_component(request.component, validation_engine())
        except ComponentError:
            fields.add("component")
    return fields


def _refused_by(check: Callable[[], object]) -> set[str]:
    """The fields the host's own pure check of the request names."""
    try:
        check()
    except InvalidRequestError as refused:
        return {violation.field for violation in refused.violations}
    return set()


def _register(
    path_parameters: Mapping[str, Any], body: Mapping[str, Any]
) -> installs_pb2.RegisterInstallRequest:
    request = installs_pb2.RegisterInstallRequest()
    json_format.ParseDict(body, request, ignore_unknown_fields=True)
    request.tenant = str(path_parameters.get("tenant", request.tenant))
    return request


def _update(body: Mapping[str, Any]) -> installs_pb2.UpdateInstallRequest:
    request = installs_pb2.UpdateInstallRequest()
    json_format.ParseDict(body, request, ignore_unknown_fields=True)
    return request


# What an update applies to: only the fields it sets are checked.
_CURRENT = validation.registered(
    installs_pb2.RegisterInstallRequest(tenant="t", install_id="i", extension_id="e", version="1")
)


def _expiry_refused(value: object) -> bool:
    """A secret's expiry is stored as int64 ns: 1677..2262 only (SetSecret says so)."""
    instant = _instant_ns(value)
    return instant is not None and not MIN_NS <= instant <= MAX_NS


def violated_fields(body: bytes | None) -> set[str] | None:
    try:
        status = json.loads(body or b"")
        return {
            violation["field"]
            for detail in status["details"]
            if detail.get("@type", "").endswith("google.rpc.BadRequest")
            for violation in detail["fieldViolations"]
        }
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.check
def documented_positive_data_acceptance(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400:
            named = violated_fields(response.content)
            allowed = documented_refusals(case.operation.path, case.query or {})
            allowed |= admin_refusals(case.operation.path, case.path_parameters or {}, case.body)
            # A catalog refusal names the rows: content.rows[N].FIELD, content.header.
            named = {"content" if name.startswith("content.") else name for name in named or ()}
            if named and named <= allowed:
                return None
            if _disabled_install(case.operation.path, response.content):
                return None
            if _unregistered_version(case.operation.path, response.content):
                return None
        raise


def _unregistered_version(path: str, body: bytes | None) -> bool:
    """RegisterInstall / UpdateInstall naming a version the extension registry
    lacks while it holds others of the extension (docs/extension-registry.md)."""
    if not path.startswith("/v1/admin/tenants/{tenant}/installs"):
        return False
    try:
        status = json.loads(body or b"")
        return bool(status["code"] == 9 and "in the extension registry" in status["message"])
    except (ValueError, KeyError, TypeError):
        return False


def _disabled_install(path: str, body: bytes | None) -> bool:
    """IssueInstallToken is FAILED_PRECONDITION for a disabled install (its RPC
    comment says so): the state is the run's, since the same run disables
    installs, so the answer's own code and message are what is judged."""
    if not path.endswith(":issueToken"):
        return False
    try:
        status = json.loads(body or b"")
        return bool(status["code"] == 9 and "is disabled" in status["message"])
    except (ValueError, KeyError, TypeError):
        return False


def _holds_null(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, Mapping):
        return any(_holds_null(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_null(item) for item in value)
    return False


@schemathesis.check
def protojson_negative_data_rejection(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """schemathesis' `negative_data_rejection`, except for a body holding a null:
    protojson reads `null` as the field's default, exactly as if the field were
    left out, so the gateway takes it (a REQUIRED field is then refused as
    missing). The OpenAPI declares null only where a field has presence, to keep
    the response schemas (which never hold null) exact; a null elsewhere is a
    false positive of the check, not an accepted bad request."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if _holds_null(case.body):
            return None
        raise
