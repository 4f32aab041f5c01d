"""`extplane audit verify` and `extplane audit public-key`: the audit log from a shell.

Both call a running audit service over gRPC with a bearer token holding the
`audit.reader` role (`--token`, or `EXTPLANE_TOKEN`, which keeps it out of
the process list). `verify` exits 0 when the range is intact, 1 naming the
first problem when it is not, 3 when it could not ask (unreachable,
refused); 2 is a usage or configuration error, as for every command.
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc

from extplane.config import Settings
from extplane.runtime.channels import create_channel
from extplane.runtime.server import host_port
from extplane_protos.orloj.extensions.v1 import audit_query_pb2 as pb
from extplane_protos.orloj.extensions.v1 import audit_query_pb2_grpc

TOKEN_ENV = "EXTPLANE_TOKEN"
EXIT_INTACT = 0
EXIT_TAMPERED = 1
EXIT_UNVERIFIED = 3


def add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="verify the audit log, print its public key")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="prove a range of the log intact, or name the first tampered record "
        "(exit 0 intact, 1 tampered, 3 could not verify)",
    )
    verify.add_argument(
        "--from",
        dest="from_sequence",
        type=int,
        default=0,
        metavar="N",
        help="first sequence (default: the oldest retained record)",
    )
    verify.add_argument(
        "--to",
        dest="to_sequence",
        type=int,
        default=0,
        metavar="N",
        help="last (default: the head)",
    )
    key = actions.add_parser("public-key", help="print the checkpoint verification key (PEM)")
    for action in (verify, key):
        action.add_argument("--address", help="audit service host:port (default: from config)")
        action.add_argument(
            "--token", help=f"bearer token with the audit.reader role (default: ${TOKEN_ENV})"
        )
        action.add_argument("--timeout", type=float, default=300.0, help="seconds (default: 300)")


async def run_audit(args: argparse.Namespace, settings: Settings, default_host: str) -> int:
    target = args.address or host_port(default_host, settings.audit.port)
    token = args.token or os.environ.get(TOKEN_ENV, "")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    async with create_channel(target) as channel:
        stub = audit_query_pb2_grpc.AuditQueryServiceStub(channel)
        try:
            if args.audit_command == "verify":
                response = await stub.VerifyAuditLog(
                    pb.VerifyAuditLogRequest(
                        from_sequence=args.from_sequence, to_sequence=args.to_sequence
                    ),
                    metadata=metadata,
                    timeout=args.timeout,
                )
                return _report(response)
            key = await stub.GetAuditPublicKey(
                pb.GetAuditPublicKeyRequest(), metadata=metadata, timeout=args.timeout
            )
        except grpc.aio.AioRpcError as err:
            print(
                f"extplane: audit service at {target}: {err.code().name}: {err.details()}",
                file=sys.stderr,
            )
            return EXIT_UNVERIFIED
    print(key.public_key_pem, end="")
    print(f"key id {key.key_id} ({key.algorithm})", file=sys.stderr)
    return EXIT_INTACT


def _report(verdict: pb.VerifyAuditLogResponse) -> int:
    span = f"sequences {verdict.from_sequence}..{verdict.to_sequence}"
    counted = (
        f"{verdict.records_verified} records, {verdict.checkpoints_verified} checkpoints verified"
    )
    if verdict.intact:
        print(f"intact: {span} ({counted}); head hash {verdict.head_hash}")
        return EXIT_INTACT
    problem = verdict.first_problem
    kind = pb.AuditTamperKind.Name(problem.kind).removeprefix("AUDIT_TAMPER_KIND_")
    print(f"TAMPERED: {kind} at sequence {problem.sequence}: {problem.detail}")
    print(f"verified before it: {span} ({counted})")
    return EXIT_TAMPERED
