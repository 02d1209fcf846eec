"""Decoding text the way Chinese mail clients really label it.

Clients label GBK text as gb2312 (Foxmail, Outlook) and send 8-bit headers with no charset
at all; Python's strict gb2312 codec then loses characters such as 喆 and 镕. GB18030 is a
superset of GB2312 and GBK, so those labels decode as GB18030. A character that still
cannot be decoded is reported, never dropped silently.
"""

from __future__ import annotations

import codecs
from email.header import Header, decode_header

# Labels whose bytes are, in practice, GBK or GB18030.
_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "ms936": "gb18030", "windows-936": "gb18030", "euc-cn": "gb18030", "csgb2312": "gb18030",
    "gb_2312-80": "gb18030", "chinese": "gb18030", "x-euc-cn": "gb18030", "hz-gb-2312": "hz",
    "big5": "big5hkscs", "ks_c_5601-1987": "cp949", "unicode-1-1-utf-7": "utf-7",
    "us-ascii": "utf-8", "ascii": "utf-8", "iso-8859-1": "cp1252", "latin1": "cp1252",
}
# Tried in order when there is no label, or the label is unknown or wrong.
_FALLBACKS = ("utf-8", "gb18030", "big5hkscs")


def codec_for(label: str | None) -> str | None:
    """The codec to use for a MIME charset label, or None when it is unknown."""
    if not label:
        return None
    name = label.strip().strip('"').lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode bytes by their label, falling back to the charsets Chinese mail uses.

    Returns the text and, when a character could not be decoded by any candidate, a
    warning saying so (the text then carries U+FFFD where the bytes were).
    """
    candidates: list[str] = []
    primary = codec_for(label)
    if primary:
        candidates.append(primary)
    candidates += [c for c in _FALLBACKS if c not in candidates]
    for codec in candidates:
        try:
            return data.decode(codec).replace("\x00", ""), None
        except (UnicodeDecodeError, LookupError):
            continue
    codec = primary or "gb18030"
    # NUL never reaches the record: PostgreSQL text cannot hold it.
    text = data.decode(codec, errors="replace").replace("\x00", "")
    lost = text.count("\ufffd")
    return text, (f"{lost} undecodable byte sequence(s) in text labelled "
                  f"{label or '(none)'}; kept as U+FFFD")


def unescape_8bit(value: str) -> bytes | None:
    """Raw 8-bit header bytes that the email package carried as surrogate escapes."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return None
    return value.encode("ascii", "surrogateescape")


def raw_header(value: str | Header | None) -> str:
    """A header as text, with raw 8-bit bytes kept as surrogate escapes.

    The email package hands out a header holding 8-bit bytes as a Header object whose
    str() has already replaced them with U+FFFD; the bytes are taken back from it here.
    """
    if value is None:
        return ""
    if isinstance(value, Header):
        out = []
        for chunk, charset in decode_header(value):
            if isinstance(chunk, bytes):
                out.append(chunk.decode("ascii", "surrogateescape") if charset in
                           (None, "unknown-8bit") else str(Header(chunk, charset)))
            else:
                out.append(chunk)
        return "".join(out)
    return str(value)


def decode_header_value(value: str | Header | None, warnings: list[str] | None = None) -> str:
    """RFC 2047 words (also inside quotes, also split mid-character) and raw 8-bit bytes."""
    if value is None:
        return ""
    value = raw_header(value)
    raw = unescape_8bit(value)
    if raw is not None:
        text, warn = decode_bytes(raw, None)
        if warn and warnings is not None:
            warnings.append("header: " + warn)
        value = text
    out: list[str] = []
    try:
        parts = decode_header(value)
    except Exception:  # malformed encoded word: keep the header as written
        return " ".join(value.split())
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        text, warn = decode_bytes(chunk, charset)
        if warn and warnings is not None:
            warnings.append("header: " + warn)
        out.append(text)
    # decode_header drops the whitespace between an encoded word and plain text only when
    # there is an encoded word; joining with "" matches what clients display.
    text = "".join(out) if len(parts) > 1 else (out[0] if out else "")
    return " ".join(text.replace("\r", " ").replace("\n", " ").replace("\x00", "").split())
