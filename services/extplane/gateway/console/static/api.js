// The gateway's public HTTP APIs, called with the operator's bearer token.
// The token lives in this tab's sessionStorage only: never in a URL, a cookie or localStorage.

const TOKEN_KEY = "extplane.console.token";

const CODE_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
  "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];
const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// A refusal, as the gateway's google.rpc.Status body tells it.
export class ApiError extends Error {
  constructor(httpStatus, status) {
    const code = Number.isInteger(status.code) ? status.code : 2;
    super(status.message || `HTTP ${httpStatus}`);
    this.httpStatus = httpStatus;
    this.grpcCode = code;
    this.codeName = CODE_NAMES[code] || `code ${code}`;
    this.fieldViolations = (status.details || [])
      .filter((detail) => detail["@type"] === BAD_REQUEST)
      .flatMap((detail) => detail.fieldViolations || []);
  }
}

export function queryString(params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== "") query.append(name, String(item));
    }
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

async function call(path, params, accept) {
  const headers = { Accept: accept };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const response = await fetch(path + queryString(params), {
    headers,
    cache: "no-store",
    credentials: "omit",
    redirect: "error",
  });
  if (!response.ok) throw await refusal(response);
  return response;
}

async function refusal(response) {
  let status = {};
  try {
    status = await response.json();
  } catch {
    status = { code: 2, message: `HTTP ${response.status} ${response.statusText}` };
  }
  return new ApiError(response.status, status);
}

export async function getJson(path, params = {}) {
  return (await call(path, params, "application/json")).json();
}

export async function getBlob(path, params = {}) {
  const response = await call(path, params, "*/*");
  return response.blob();
}
