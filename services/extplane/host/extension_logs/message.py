"""An extension's message made safe to log: bounded in size, control
characters escaped so one message can never forge a second log line or
drive a terminal."""

from __future__ import annotations

MAX_MESSAGE_BYTES = 4096


def _harmless(char: str) -> str:
    code = ord(char)
    # C0 controls (newline, carriage return, ESC…), DEL and C1 controls; tab is kept.
    if char != "\t" and (code < 0x20 or 0x7F <= code < 0xA0):
        return f"\\x{code:02x}"
    # Line and paragraph separators end a line in some log viewers.
    if char in "\u2028\u2029":
        return f"\\u{code:04x}"
    return char


def is_truncated(message: str, max_bytes: int = MAX_MESSAGE_BYTES) -> bool:
    """Whether `safe_message` cuts `message`."""
    return len(message.encode("utf-8", errors="surrogatepass")) > max_bytes


def safe_message(message: str, max_bytes: int = MAX_MESSAGE_BYTES) -> str:
    """`message` with controls escaped, at most `max_bytes` of UTF-8 of the
    original kept; a longer one ends in `…[truncated N bytes]` (N dropped)."""
    encoded = message.encode("utf-8", errors="surrogatepass")
    suffix = ""
    if len(encoded) > max_bytes:
        # Cut on a character boundary: never half a code point.
        kept = encoded[:max_bytes].decode("utf-8", errors="ignore")
        suffix = f"…[truncated {len(encoded) - len(kept.encode('utf-8'))} bytes]"
        message = kept
    return "".join(_harmless(c) for c in message) + suffix
