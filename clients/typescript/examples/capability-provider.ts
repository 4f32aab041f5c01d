// An extension CapabilityProvider in TypeScript: the smallest useful server of
// `orloj.extensions.v1.CapabilityProvider`. The extplane capability service asks
// it over gRPC and merges what it answers into the deployment's snapshot.
//
//   node dist/examples/capability-provider.js --port 0 \
//     --feature billing=true --meta billing.plan=pro
//
// It prints `listening <port>` once it accepts calls and drains on SIGTERM.

import { createServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";

import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

import {
  CapabilitiesResponseSchema,
  CapabilityProvider,
  CapabilitySnapshotSchema,
  type CapabilitySnapshot,
} from "../src/gen/orloj/extensions/v1/capabilities_pb.js";

const USAGE =
  "usage: capability-provider [--host 127.0.0.1] [--port N | env PORT] " +
  "[--feature NAME=true|false]... [--meta KEY=VALUE]...";

interface Options {
  host: string;
  port: number;
  features: Record<string, boolean>;
  metadata: Record<string, string>;
}

class UsageError extends Error {}

function splitPair(flag: string, pair: string): [string, string] {
  const at = pair.indexOf("=");
  if (at <= 0) {
    throw new UsageError(`${flag}: expected KEY=VALUE, got ${JSON.stringify(pair)}`);
  }
  return [pair.slice(0, at), pair.slice(at + 1)];
}

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
      feature: { type: "string", multiple: true, default: [] },
      meta: { type: "string", multiple: true, default: [] },
    },
    strict: true,
  });
  const features: Record<string, boolean> = {};
  for (const pair of values.feature) {
    const [name, enabled] = splitPair("--feature", pair);
    if (enabled !== "true" && enabled !== "false") {
      const got = JSON.stringify(enabled);
      throw new UsageError(`--feature ${name}: expected true or false, got ${got}`);
    }
    features[name] = enabled === "true";
  }
  const metadata: Record<string, string> = {};
  for (const pair of values.meta) {
    const [key, value] = splitPair("--meta", pair);
    metadata[key] = value;
  }
  return { host: values.host, port: parsePort(values.port), features, metadata };
}

// The routes are the whole extension: one handler per RPC of the generated service.
function routes(snapshot: CapabilitySnapshot): (router: ConnectRouter) => void {
  return (router: ConnectRouter) => {
    router.service(CapabilityProvider, {
      capabilities: () => create(CapabilitiesResponseSchema, { snapshot }),
    });
  };
}

function serve(options: Options): void {
  const snapshot = create(CapabilitySnapshotSchema, {
    features: options.features,
    metadata: options.metadata,
  });
  // gRPC only: the capability service and every gRPC stub speak it over HTTP/2.
  const handler = connectNodeAdapter({
    routes: routes(snapshot),
    grpc: true,
    grpcWeb: false,
    connect: false,
  });
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
      console.error(`capability-provider: ${error.message}\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  serve(options);
}

main();
