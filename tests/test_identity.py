"""A mail's identity from its header block: the Message-ID is read before the first
blank line only, whatever the line endings, folded or not."""

from __future__ import annotations

from mailflow.inbound.identity import dedupe_key


def test_message_id_from_the_header_block_only() -> None:
    body = b"> Message-ID: <quoted@example.com>\r\n" * 3000      # a long quoted thread
    assert dedupe_key(b"From: a@example.com\r\nMessage-ID: <own@example.com>\r\n\r\n" + body
                      )[1] == "own@example.com"
    assert dedupe_key(b"From: a@example.com\r\n\r\nMessage-ID: <body@example.com>\r\n"
                      + body)[1] is None


def test_folded_and_bare_line_endings() -> None:
    assert dedupe_key(b"Subject: x\rMessage-ID:\r <cr@example.com>\r\rbody")[1] == "cr@example.com"
    assert dedupe_key(b"Message-ID:\n\t<lf@example.com>\n\nMessage-ID: <no@x>")[1] == \
        "lf@example.com"
    # A lone CR after a CRLF is a blank line too.
    assert dedupe_key(b"A: b\r\n\rMessage-ID: <no@example.com>\r\n")[1] is None


def test_without_a_blank_line_the_first_64_kb_are_the_header() -> None:
    raw = b"X-Pad: " + b"y" * 70000 + b"\r\nMessage-ID: <late@example.com>"
    assert dedupe_key(raw)[1] is None
    assert dedupe_key(b"Message-ID: <only@example.com>")[1] == "only@example.com"
