"""`extplane audit rotate-key | public-key | checkpoints`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO

from extplane.audit.chain.records import Checkpoint
from extplane.audit.cli_files import write_whole
from extplane.audit.witness.wire import checkpoint_json
from extplane.cli_options import EXIT_OK, EXIT_USAGE
from extplane.config import Settings
from extplane.keys import KeyRing, VerificationKey, has_keys, rotate
from extplane_client import AuditQueryClient
from extplane_client.audit_types import AuditCheckpoint


def add_key_parsers(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    """The parsers of the commands here; those returned talk to the service."""
    rotate_key = actions.add_parser(
        "rotate-key",
        help="add a new signing key to the key directory and make it the active one "
        "(the running service signs its next checkpoint with it)",
    )
    rotate_key.add_argument(
        "--key-dir", type=Path, metavar="DIR", help="default: the configured signing_key_dir"
    )
    rotate_key.add_argument(
        "--first",
        action="store_true",
        help="make the first key of a new, empty ring (for a log with no checkpoints yet)",
    )
    key = actions.add_parser(
        "public-key", help="print every checkpoint verification key (PEM), the active first"
    )
    key.add_argument("--jwks", action="store_true", help="print them as a JWK set instead")
    checkpoints = actions.add_parser(
        "checkpoints", help="write every signed checkpoint, one JSON object a line"
    )
    checkpoints.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="default: standard output"
    )
    return [key, checkpoints]


def run_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    directory: Path = args.key_dir or settings.audit.signing_key_directory(settings.data_dir)
    if has_keys(directory) == args.first:
        # Rotating an empty directory by mistake would hide a lost ring (the
        # service then refuses it for a signed log, but say so here first).
        problem = "already holds keys" if args.first else "holds no keys (--first makes one)"
        print(f"extplane: {directory} {problem}", file=sys.stderr)
        return EXIT_USAGE
    before = "none" if args.first else KeyRing.load(directory).active.key_id
    key = rotate(directory)
    print(f"active key {key.key_id} in {directory} (was {before})")
    return EXIT_OK


async def print_public_keys(client: AuditQueryClient, args: argparse.Namespace) -> int:
    served = await client.list_audit_public_keys(timeout=args.timeout)
    keys = [VerificationKey.from_pem(key.public_key_pem.encode()) for key in served]
    if args.jwks:
        print(json.dumps({"keys": [key.jwk() for key in keys]}, indent=2))
    else:
        print("".join(key.public_key_pem for key in served), end="")
    for key, shown in zip(served, keys, strict=True):
        # The id computed here from the key itself, not the one the service names.
        role = "active" if key.active else "retired"
        print(f"key id {shown.key_id} ({key.algorithm}, {role})", file=sys.stderr)
    return EXIT_OK


def checkpoint_of(served: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(
        served.sequence,
        bytes.fromhex(served.hash),
        served.create_time_ns,
        served.key_id,
        served.signature,
    )


async def fetch_checkpoints(client: AuditQueryClient, timeout_s: float) -> list[Checkpoint]:
    return [
        checkpoint_of(served) async for served in client.iter_audit_checkpoints(timeout=timeout_s)
    ]


async def write_checkpoints(client: AuditQueryClient, args: argparse.Namespace) -> int:
    checkpoints = await fetch_checkpoints(client, args.timeout)
    text = "".join(f"{checkpoint_json(c)}\n" for c in checkpoints).encode()
    if args.output is None:
        sys.stdout.buffer.write(text)
        return EXIT_OK

    async def write(out: IO[bytes]) -> None:
        out.write(text)

    return await write_whole(args.output, write)
