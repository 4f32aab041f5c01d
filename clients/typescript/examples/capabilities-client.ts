// A TypeScript client of `orloj.extensions.v1.CapabilityProvider`: asks the extplane
// capability service (or any provider) for the deployment's snapshot over gRPC.
//
//   node dist/examples/capabilities-client.js --address 127.0.0.1:50051 --timeout-ms 5000
//
// Prints the snapshot as JSON with sorted keys. A failed call prints its gRPC code
// (`unavailable`, `deadline_exceeded`, ...) and message on stderr and exits 1;
// a malformed flag exits 2.

import { parseArgs } from "node:util";

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

import {
  CapabilityProvider,
  type CapabilitySnapshot,
} from "../src/gen/orloj/extensions/v1/capabilities_pb.js";

const USAGE = "usage: capabilities-client --address HOST:PORT [--timeout-ms 5000]";

// The largest delay a Node timer accepts; a longer deadline would fire at once.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

interface Options {
  address: string;
  timeoutMs: number;
}

class UsageError extends Error {}

// HOST:PORT, with an IPv6 host in brackets ([::1]:50051); nothing else, so a
// scheme or a path cannot slip into the base URL unnoticed.
const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]@?#]+):(\d{1,5})$/;

function parseAddress(text: string | undefined): string {
  if (text === undefined) {
    throw new UsageError("--address: required, e.g. --address 127.0.0.1:50051");
  }
  const match = ADDRESS.exec(text);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new UsageError(`--address: expected HOST:PORT, got ${JSON.stringify(text)}`);
  }
  return text;
}

function parseTimeout(text: string): number {
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 1 || ms > MAX_TIMEOUT_MS) {
    const expected = `whole milliseconds, 1-${MAX_TIMEOUT_MS}`;
    throw new UsageError(`--timeout-ms: expected ${expected}, got ${JSON.stringify(text)}`);
  }
  return ms;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      address: { type: "string" },
      "timeout-ms": { type: "string", default: "5000" },
    },
    strict: true,
  });
  return { address: parseAddress(values.address), timeoutMs: parseTimeout(values["timeout-ms"]) };
}

// gRPC's canonical code names, as the other gRPC stacks and extplane's logs spell them.
function codeName(code: Code): string {
  return Code[code].replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}

// JSON.stringify puts integer-like keys first whatever the insertion order, so the
// objects are written here to keep every key in sorted order.
function objectJson(members: Array<[string, string]>, indent: string): string {
  if (members.length === 0) return "{}";
  const inner = `${indent}  `;
  const lines = members.map(([key, value]) => `${inner}${JSON.stringify(key)}: ${value}`);
  return `{\n${lines.join(",\n")}\n${indent}}`;
}

function sortedMembers(record: Record<string, boolean | string>): Array<[string, string]> {
  return Object.keys(record)
    .sort()
    .map((key) => [key, JSON.stringify(record[key])]);
}

function snapshotJson(snapshot: CapabilitySnapshot): string {
  return objectJson(
    [
      ["features", objectJson(sortedMembers(snapshot.features), "  ")],
      ["metadata", objectJson(sortedMembers(snapshot.metadata), "  ")],
    ],
    "",
  );
}

async function fetchSnapshot(options: Options): Promise<CapabilitySnapshot> {
  const baseUrl = `http://${options.address}`;
  // The client owns its HTTP/2 connection, so it can close it as soon as it is done.
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager });
  try {
    const client = createClient(CapabilityProvider, transport);
    // Sent as the grpc-timeout header: the service and the providers it asks honour it.
    const response = await client.capabilities({}, { timeoutMs: options.timeoutMs });
    if (response.snapshot === undefined) {
      throw new ConnectError("response carries no snapshot", Code.Internal);
    }
    return response.snapshot;
  } finally {
    sessionManager.abort();
  }
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    // parseArgs reports unknown or malformed flags as TypeErrors.
    if (error instanceof UsageError || error instanceof TypeError) {
      console.error(`capabilities-client: ${error.message}\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  try {
    console.log(snapshotJson(await fetchSnapshot(options)));
  } catch (error) {
    // Calls reject with a ConnectError; `from` also gives anything else a code (unknown).
    const failure = ConnectError.from(error);
    console.error(`capabilities-client: ${codeName(failure.code)}: ${failure.rawMessage}`);
    process.exitCode = 1;
  }
}

await main();
