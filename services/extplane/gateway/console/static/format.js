// Times (UTC everywhere, the browser's zone named), numbers and downloads.

const GROUPED = new Intl.NumberFormat("en-US");

// int64 values arrive as decimal strings (protojson): grouped exactly, through BigInt.
export function count(value) {
  return GROUPED.format(BigInt(value || 0));
}

// RFC 3339 in UTC, to the second (the API takes it as a query parameter).
export function rfc3339(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// "2026-11-21 10:00:05" from an RFC 3339 string, as the API sends it, in UTC.
export function utcText(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "");
}

// A datetime-local input's value read as UTC (the console's inputs are labelled UTC).
export function fromUtcInput(value) {
  if (!value) return null;
  const date = new Date(`${value.length === 16 ? `${value}:00` : value}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function toUtcInput(date) {
  return date.toISOString().slice(0, 16);
}

export function browserZone() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "unknown";
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${zone} (UTC${offset})`;
}

// RFC 4180 with CRLF; a cell a spreadsheet would run as a formula is written as text.
export function csv(rows) {
  return rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

function csvCell(value) {
  let text = value === undefined || value === null ? "" : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
