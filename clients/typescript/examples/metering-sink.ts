// A MeteringSink in TypeScript that implements only the seed's RPC, `RecordMetering`:
// the smallest sink a runtime's metering adapter can deliver to. The batch RPC is
// left out on purpose, so it answers UNIMPLEMENTED and adapters fall back to
// sending one event per call.
//
//   node dist/examples/metering-sink.js --port 0
//
// It prints `listening <port>` once it accepts calls, then one JSON line per
// event it is sent: {"event_id": ..., "namespace": ..., "task": ..., "duplicate": ...}.
// Events are kept in memory, deduplicated by `event_id` (an empty id is never a
// duplicate), as the contract asks. An event with a negative counter is refused
// with INVALID_ARGUMENT naming the field. It drains on SIGTERM.

import { createServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

import {
  MeteringSink,
  RecordMeteringResponseSchema,
  type MeteringEvent,
  type RecordMeteringRequest,
  type RecordMeteringResponse,
} from "../src/gen/orloj/extensions/v1/metering_pb.js";

const USAGE = "usage: metering-sink [--host 127.0.0.1] [--port N | env PORT]";

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

// The counters the contract says must not be negative, by their proto names.
function negativeCounter(event: MeteringEvent): string | undefined {
  const counters: [string, bigint][] = [
    ["tokens_in", event.tokensIn],
    ["tokens_out", event.tokensOut],
    ["tool_calls", event.toolCalls],
    ["duration_ms", event.durationMs],
  ];
  return counters.find(([, value]) => value < 0n)?.[0];
}

class MemorySink {
  private readonly seen = new Set<string>();

  record(request: RecordMeteringRequest): RecordMeteringResponse {
    const event = request.event;
    if (event === undefined) {
      throw new ConnectError("event: required", Code.InvalidArgument);
    }
    const negative = negativeCounter(event);
    if (negative !== undefined) {
      throw new ConnectError(`event.${negative}: must not be negative`, Code.InvalidArgument);
    }
    const duplicate = event.eventId !== "" && this.seen.has(event.eventId);
    if (event.eventId !== "") this.seen.add(event.eventId);
    console.log(
      JSON.stringify({
        event_id: event.eventId,
        namespace: event.namespace,
        task: event.task,
        duplicate,
      }),
    );
    return create(RecordMeteringResponseSchema, { duplicate });
  }
}

// Only `recordMetering`: Connect answers UNIMPLEMENTED for the RPCs left out.
function routes(sink: MemorySink): (router: ConnectRouter) => void {
  return (router: ConnectRouter) => {
    router.service(MeteringSink, {
      recordMetering: (request) => sink.record(request),
    });
  };
}

function serve(options: Options): void {
  const handler = connectNodeAdapter({
    routes: routes(new MemorySink()),
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
      console.error(`metering-sink: ${error.message}\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  serve(options);
}

main();
