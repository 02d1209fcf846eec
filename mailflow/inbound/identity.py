"""A mail's identity, from its bytes alone: what makes the same mail in two mailboxes (HR's
and a supervisor's), or fetched twice, one record. Known before the mail is parsed, so a
mail that cannot be parsed is still recorded once."""

from __future__ import annotations

import hashlib
import re


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def clean_message_id(value: str | None) -> str | None:
    if not value:
        return None
    value = value.encode("utf-8", "replace").decode("utf-8").strip()
    match = re.search(r"<([^<>\s]+)>", value)
    mid = (match.group(1) if match else value.strip("<> \t")).replace("\x00", "")
    return mid[:300] or None


_BLANK_LINE = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")


def _header_message_id(data: bytes) -> str | None:
    """The Message-ID from the header block alone, before the mail is parsed."""
    head = data[:65536]
    # Split the header block only: splitting the whole first 64 KB into lines cost more
    # than the rest of recording a report mail with an attachment.
    end = _BLANK_LINE.search(head)
    lines = re.split(rb"\r\n|\r|\n", head[:end.end()] if end else head)
    if b"" in lines:
        lines = lines[:lines.index(b"")]
    for i, line in enumerate(lines):
        if line[:11].lower() == b"message-id:":
            value = line[11:]
            for cont in lines[i + 1:]:
                if cont[:1] in (b" ", b"\t"):
                    value += cont
                else:
                    break
            return clean_message_id(value.decode("ascii", "replace"))
    return None


def dedupe_key(data: bytes) -> tuple[str, str | None, str]:
    digest = sha256(data)
    mid = _header_message_id(data)
    if mid is None:
        return f"sha256:{digest}", None, digest
    if len(mid) > 250:  # the key column holds 300; a longer id is known by its hash
        return f"mid-sha256:{sha256(mid.encode())}", mid, digest
    return f"mid:{mid}", mid, digest
