// Guest (JavaScript): echoes its context and one storage read as JSON; on
// `/fetch` it tries a wasi:http request to the URL in the body (the runner
// must never let it leave).
import { getContext } from "alga:extension/context";
import { get } from "alga:extension/storage";
import { info } from "alga:extension/logging";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function answer(status, value) {
  return {
    status,
    headers: [{ name: "content-type", value: "application/json" }],
    body: encoder.encode(JSON.stringify(value)),
  };
}

export function handler(request) {
  const body = request.http.body ? decoder.decode(request.http.body) : "";
  if (request.http.url === "/fetch") {
    fetch(body);
    return answer(200, { fetched: body });
  }
  info(`js guest: ${request.http.method} ${request.http.url}`);
  let stored;
  try {
    const entry = get("js", "greeting");
    stored = { ok: decoder.decode(entry.value), revision: String(entry.revision) };
  } catch (err) {
    stored = { err: err.payload ?? String(err) };
  }
  const context = getContext();
  return answer(200, { tenant: context.tenantId, install: context.installId ?? null, stored });
}
