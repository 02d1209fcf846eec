"""Malformed and hostile mail: the corpus beside this file (see make_corpus.py) plus the
two largest cases made here, fetched from Dovecot by `mailflow poll --once`; and a
hypothesis fuzz of the parser's entry point. Nothing crashes, nothing is lost, what
cannot be read is listed for HR with its hash and error."""

from __future__ import annotations

import json
import os
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mailflow.parsing.guard import parse_guarded
from mailflow.parsing.parse import ParsedMail, ParseError, parse_mail
from mailflow.store.queries import dedupe_key
from servers import deliver, imap_login

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_corpus import REPORT, attach, multipart, text_part  # noqa: E402

CORPUS = sorted(HERE.glob("*.eml"))
WHEN = datetime(2026, 11, 19, 20, 0, tzinfo=timezone(timedelta(hours=8)))


def big_cases() -> dict[str, bytes]:
    return {"attachment_50mb": multipart([text_part(REPORT.encode()),
                                          attach("big.bin", b"\0" * 50_000_000)], mid="big50"),
            "parts_10000": multipart([text_part(b"x")] * 10000, mid="p10k")}


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 60


def _strings(mail: ParsedMail) -> list[str]:
    return [mail.subject, mail.from_name, mail.from_addr, mail.body, *mail.to, *mail.cc,
            *mail.warnings, *(a.filename for a in mail.attachments)]


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_each_corpus_mail_parses_or_is_a_parse_error(path):
    raw = path.read_bytes()
    try:
        mail = parse_guarded(raw)
    except ParseError as exc:
        assert str(exc)
        str(exc).encode("utf-8")            # storable: no lone surrogates
        return
    for value in _strings(mail):
        value.encode("utf-8")
    assert all("/" not in a.filename and "\\" not in a.filename for a in mail.attachments)


def test_the_two_largest_are_bounded():
    for name, raw in big_cases().items():
        # Room for a loaded machine: the limit itself is checked just below.
        mail = parse_guarded(raw, time_limit=120)
        assert mail.from_addr == "feng.zhe@example.com", name
    with pytest.raises(ParseError, match="longer than"):
        parse_guarded(big_cases()["attachment_50mb"], time_limit=0.05)


EXAMPLES: dict[str, int] = {}


@pytest.fixture
def examples(request):
    """Counts the examples hypothesis ran, for the reliability report."""
    EXAMPLES[request.node.name] = 0
    yield request.node.name
    # On the test's report, so a run spread over worker processes counts them too.
    request.node.user_properties.append(("examples", EXAMPLES[request.node.name]))


@pytest.mark.clockfree
@settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=4000))
def test_fuzz_random_bytes(examples, raw):
    EXAMPLES[examples] += 1
    try:
        mail = parse_mail(raw)
    except ParseError:
        return
    for value in _strings(mail):
        value.encode("utf-8")


HEADER_LINES = [b"From: feng.zhe@example.com", b"From: =?gb2312?B?va/pRg==?= <a@b.example>",
                b"To: qian.zg@example.com", b"Cc: hr@example.com", b"Subject: =?utf-8?B?5pel5oql?=",
                b"Subject: \xc8\xd5\xb1\xa8", b"Content-Type: multipart/mixed; boundary=B",
                b"Content-Type: text/plain; charset=gb2312", b"Content-Type: text/html",
                b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable",
                b"Date: Thu, 19 Nov 2026 20:00:00 +0800", b"Date: garbage", b"Message-ID: <x@y>",
                b"Content-Disposition: attachment; filename*=utf-8''%E6%97%A5.xlsx", b"--B",
                b"--B--", b"", b"\xff\xfe", b"=?utf-8?B?", b";;;;;;"]


@pytest.mark.clockfree
@settings(max_examples=400, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.sampled_from(HEADER_LINES), max_size=30),
       sep=st.sampled_from([b"\r\n", b"\n", b"\r"]), tail=st.binary(max_size=500))
def test_fuzz_structured(examples, lines, sep, tail):
    EXAMPLES[examples] += 1
    raw = sep.join(lines) + sep + sep + tail
    try:
        mail = parse_mail(raw)
    except ParseError:
        return
    for value in _strings(mail):
        value.encode("utf-8")


@pytest.mark.clockfree
@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(CORPUS), seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 40))
def test_fuzz_mutated_corpus(examples, path, seed, flips):
    EXAMPLES[examples] += 1
    data = bytearray(path.read_bytes()[:20000])
    rnd = random.Random(seed)
    for _ in range(flips):
        if data:
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    try:
        parse_mail(bytes(data))
    except ParseError:
        pass


def test_whole_corpus_through_the_poll_loses_nothing(project, passwords, dovecot):
    folder = "B" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    mails = {p.stem: p.read_bytes() for p in CORPUS} | big_cases()
    refused = {}
    for name, raw in mails.items():
        try:
            deliver(client, folder, raw, WHEN)
        except Exception as exc:  # the server may refuse some (an empty message)
            refused[name] = str(exc)
    client.logout()
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,),
                        extra="max_message_bytes = 104857600")
    res = project.cli("poll", "--once", now="2026-11-19T21:30:00+08:00")
    assert res.code == 0, res.err
    # What the server refused to store goes through `ingest`, the same pipeline. Such a
    # mail (an empty message) has no date of its own: its arrival is the file's time,
    # pinned to the delivery time the others were given.
    for name in refused:
        path = project.root / f"{name}.eml"
        path.write_bytes(mails[name])
        os.utime(path, (WHEN.timestamp(), WHEN.timestamp()))
        assert project.cli("ingest", str(path), now="2026-11-19T21:30:00+08:00").code == 0
    keys = {dedupe_key(raw)[0] for raw in mails.values()}
    engine = project.engine()
    with engine.connect() as conn:
        rows = list(conn.execute(text("select dedupe_key, state, error, sha256 from mails")))
    # Every mail recorded, none twice. The server may normalise line ends on APPEND, which
    # changes the hash of mail without a Message-ID: the keys are counted, not matched.
    assert len(rows) == len(keys) == len({r[0] for r in rows})
    assert {k for k in keys if k.startswith("mid:")} <= {r[0] for r in rows}
    assert all(r[1] in ("processed", "unparsed") for r in rows)
    assert not any((r[2] or "").startswith("internal error") for r in rows)
    unparsed = {r[3]: r[2] for r in rows if r[1] == "unparsed"}
    assert "no From header" in unparsed.values()
    export = json.loads(project.cli("export", "--from", "2026-11-01", "--to", "2026-11-30").out)
    listed = {u["sha256"]: u["error"] for u in export["unparsed"]}
    assert listed == unparsed and all(listed.values())
    assert len(listed) >= 8
