// An extension handler in TypeScript: a server of `alga.extension.v1.HandlerService`,
// which the extplane runner calls for each request to an install of this extension,
// exactly as it calls a WebAssembly component's exported `handler`.
//
//   node dist/examples/handler.js --port 0        (or env PORT)
//
// It answers every request with JSON echoing the request's method and path and
// the context the runner filled in. When the call carries the runner's install
// token and the host providers' address (metadata `x-extplane-install-token`,
// `x-extplane-host-address`), it also writes a key with the host's
// `StorageService` as that install, reads it back, and adds what it got (or the
// refusal it got, e.g. without `cap:storage.kv`) under "storage".
//
// It prints `listening <port>` once it accepts calls and drains on SIGTERM.

import { createServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";

import { create } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import {
  Code,
  ConnectError,
  createClient,
  type ConnectRouter,
  type HandlerContext,
} from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";

import {
  ExecuteResponseSchema,
  HandlerService,
  type ExecuteRequest,
  type ExecuteResponse,
} from "../src/gen/alga/extension/v1/handler_pb.js";
import { StorageService } from "../src/gen/alga/extension/v1/storage_pb.js";

const USAGE = "usage: handler [--host 127.0.0.1] [--port N | env PORT]";

// What the runner sends with each Execute (extplane.runner.handler_metadata); the
// token goes back to the host under the same key.
const INSTALL_TOKEN_KEY = "x-extplane-install-token";
const HOST_ADDRESS_KEY = "x-extplane-host-address";

// The entry this example writes and reads back in its install's own storage.
const STORAGE_NAMESPACE = "typescript-handler";
const STORAGE_KEY = "greeting";
const DEFAULT_VALUE = "hello from TypeScript";
// Each host call's deadline: an answer must not wait on a host that hangs.
const HOST_CALL_TIMEOUT_MS = 5000;

// HOST:PORT, with an IPv6 host in brackets; nothing else, so a scheme or a path
// cannot slip into the base URL.
const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]@?#]+):(\d{1,5})$/;

interface Options {
  host: string;
  port: number;
}

class UsageError extends Error {}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    const got = JSON.stringify(text);
    throw new UsageError(`--port: expected 0-65535 (0 picks a free port), got ${got}`);
  }
  return port;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: env.PORT ?? "0" },
    },
    strict: true,
  });
  return { host: values.host, port: parsePort(values.port) };
}

// gRPC's canonical code names, as the other gRPC stacks and extplane's logs spell them.
function codeName(code: Code): string {
  return Code[code].replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase();
}

// The `reason` of a google.rpc.ErrorInfo detail (the WIT variant the host names,
// e.g. STORAGE_ERROR_DENIED), read from its wire form: field 1 is `reason`.
function errorInfoReason(error: ConnectError): string | undefined {
  for (const detail of error.details) {
    // Details read off the wire carry their type name and bytes (ours to decode).
    if (!("type" in detail) || detail.type !== "google.rpc.ErrorInfo") continue;
    const reader = new BinaryReader(detail.value);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 1 && wireType === WireType.LengthDelimited) return reader.string();
      reader.skip(wireType);
    }
  }
  return undefined;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function refusal(error: unknown): Json {
  const failure = ConnectError.from(error);
  return {
    code: codeName(failure.code),
    message: failure.rawMessage,
    reason: errorInfoReason(failure) ?? null,
  };
}

// Put the entry, then get it back, as the install the token names.
async function storageRoundTrip(hostAddress: string, token: string, value: string): Promise<Json> {
  if (!ADDRESS.test(hostAddress)) {
    return { error: { code: "INVALID_ARGUMENT", message: `bad ${HOST_ADDRESS_KEY}`, reason: null } };
  }
  const baseUrl = `http://${hostAddress}`;
  // One connection per execution, closed when it is done: the token is per execution too.
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager });
  const storage = createClient(StorageService, transport);
  const callOptions = {
    headers: { [INSTALL_TOKEN_KEY]: token },
    timeoutMs: HOST_CALL_TIMEOUT_MS,
  };
  const result: { [key: string]: Json } = {};
  try {
    const put = await storage.put(
      {
        entry: {
          namespace: STORAGE_NAMESPACE,
          key: STORAGE_KEY,
          value: new TextEncoder().encode(value),
        },
      },
      callOptions,
    );
    result.put = { revision: Number(put.entry?.revision ?? 0) };
    const got = await storage.get({ namespace: STORAGE_NAMESPACE, key: STORAGE_KEY }, callOptions);
    result.get = {
      namespace: got.entry?.namespace ?? "",
      key: got.entry?.key ?? "",
      value: new TextDecoder().decode(got.entry?.value ?? new Uint8Array()),
      revision: Number(got.entry?.revision ?? 0),
    };
  } catch (error) {
    result.error = refusal(error);
  } finally {
    sessionManager.abort();
  }
  return result;
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

async function execute(request: ExecuteRequest, context: HandlerContext): Promise<ExecuteResponse> {
  const http = request.http;
  const body: { [key: string]: Json } = {
    method: http?.method ?? "",
    path: pathOf(http?.url ?? ""),
    context: {
      requestId: request.context?.requestId ?? null,
      tenantId: request.context?.tenantId ?? "",
      extensionId: request.context?.extensionId ?? "",
      installId: request.context?.installId ?? null,
      versionId: request.context?.versionId ?? null,
    },
  };
  const token = context.requestHeader.get(INSTALL_TOKEN_KEY);
  const hostAddress = context.requestHeader.get(HOST_ADDRESS_KEY);
  if (token !== null && hostAddress !== null) {
    const value = http?.body?.length ? new TextDecoder().decode(http.body) : DEFAULT_VALUE;
    body.storage = await storageRoundTrip(hostAddress, token, value);
  }
  return create(ExecuteResponseSchema, {
    status: 200,
    headers: [{ name: "content-type", value: "application/json" }],
    body: new TextEncoder().encode(JSON.stringify(body)),
  });
}

function routes(router: ConnectRouter): void {
  router.service(HandlerService, { execute });
}

function serve(options: Options): void {
  // gRPC only: the runner calls handlers with a gRPC stub over HTTP/2.
  const handler = connectNodeAdapter({ routes, grpc: true, grpcWeb: false, connect: false });
  const server = createServer(handler);

  // gRPC clients keep their HTTP/2 connection open, so `server.close()` alone would
  // wait for them forever; closing each session sends GOAWAY and lets calls finish.
  const sessions = new Set<Http2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const drain = () => {
    server.close();
    for (const session of sessions) session.close();
  };
  process.once("SIGTERM", drain);
  process.once("SIGINT", drain);

  server.listen(options.port, options.host, () => {
    const { port } = server.address() as AddressInfo;
    console.log(`listening ${port}`);
  });
}

function main(): void {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    // parseArgs reports unknown or malformed flags as TypeErrors.
    if (error instanceof UsageError || error instanceof TypeError) {
      console.error(`handler: ${error.message}\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  serve(options);
}

main();
