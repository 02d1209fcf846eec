"""A week of real mail APPENDed into real IMAP servers (Dovecot and the embedded pymap),
fetched by `mailflow poll --once`, judged by `close-day`, read back by `status --json`
and `export`."""

from __future__ import annotations

import json
import uuid

import pytest

from servers import deliver, imap_login
from week import CLOSE_NOW, EXPECTED, week

USERS = {"hr": "hr@example.com", "qian": "qian.zg@example.com", "sun": "sun.zg@example.com"}
ENV = {"hr": "HR", "qian": "SUP", "sun": "SUN"}


def seed(port: int, folder: str) -> None:
    clients = {box: imap_login("127.0.0.1", port, user, "secret-" + user.split("@")[0])
               for box, user in USERS.items()}
    for d in week():
        for box in d.to_mailboxes:
            deliver(clients[box], folder, d.raw, d.at)
    for c in clients.values():
        c.logout()


def configure(project, port: int, folder: str) -> None:
    for box, user in USERS.items():
        project.add_mailbox(ENV[box].lower() if box != "hr" else "hr", port, user,
                            folders=(folder,))


@pytest.fixture(params=["dovecot", "embedded"])
def polled(request, project, passwords):
    server = request.getfixturevalue(request.param)
    folder = "W" + uuid.uuid4().hex[:8]
    seed(server.port, folder)
    configure(project, server.port, folder)
    result = project.cli("poll", "--once", now=CLOSE_NOW)
    assert result.code == 0, result.err
    for day in range(16, 22):
        closed = project.cli("close-day", "--date", f"2026-11-{day}", now=CLOSE_NOW)
        assert closed.code == 0, closed.err
    project.server, project.folder, project.first_poll = server, folder, result
    return project


def status(project, day: str) -> dict[str, tuple[str, list[str]]]:
    res = project.cli("status", "--date", day, "--json", now=CLOSE_NOW)
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["date"] == day
    return {p["email"]: (p["status"], p["violations"]) for p in data["people"]}


@pytest.mark.parametrize("day", sorted(EXPECTED))
def test_every_status_and_rule_code(polled, day):
    assert status(polled, day) == EXPECTED[day]


def test_status_json_shape_and_first_report_kept(polled):
    res = polled.cli("status", "--date", "2026-11-19", "--json", now=CLOSE_NOW)
    people = {p["email"]: p for p in json.loads(res.out)["people"]}
    feng = people["feng.zhe@example.com"]
    assert set(feng) == {"email", "name", "region", "supervisor", "status", "received_at",
                         "violations", "message_id", "leave", "reviewed_at",
                         "reviewed_by"}
    assert feng["leave"] is None
    # The first report's arrival and Message-ID, not the correction's (22:00).
    assert feng["received_at"] == "2026-11-19T12:00:00+00:00"
    assert feng["message_id"] == "feng-19-2000@example.com"
    assert feng["name"] == "冯喆" and feng["region"] == "华东"
    assert people["zhao.lei@example.com"]["received_at"] is None


def test_poll_summary_counts_each_mail_once(polled):
    out = polled.first_poll.out
    # 20 distinct mails, some delivered to two mailboxes.
    assert "20 new" in out
    assert "already recorded" in out


def test_export_lists_versions_metrics_and_unparsed(polled):
    res = polled.cli("export", "--from", "2026-11-13", "--to", "2026-11-21", now=CLOSE_NOW)
    data = json.loads(res.out)
    feng26 = [r for r in data["reports"] if r["email"] == "feng.zhe@example.com"
              and r["report_date"] == "2026-11-19"]
    assert [r["metrics"]["sales"] for r in feng26] == [12000, 20000]   # both versions kept
    assert all(r["status"] == "on_time" for r in feng26[:1])
    han_xlsx = next(r for r in data["reports"] if r["message_id"] == "han-18-2000@example.com")
    assert han_xlsx["metrics"] == {"visits": 3, "sales": 12000, "collections": 8000}
    codes = {(v["email"], v["date"], v["code"]) for v in data["violations"]}
    assert ("zhao.lei@example.com", "2026-11-13", "date_mismatch") in codes
    assert ("stranger@other.example", "2026-11-19", "unknown_sender") in codes
    assert not any(c == "late" and d == "2026-11-19" for _, d, c in codes)  # correction
    assert [u["error"] for u in data["unparsed"]] == ["no From header"]
    assert data["unparsed"][0]["message_id"] == "week-nofrom@example.com"
    kinds = {r["kind"] for r in data["reports"]}
    assert kinds == {"daily"}
    assert not any(r["message_id"] in ("feng-19-2040re@example.com", "week-auto@example.com")
                   for r in data["reports"])


def test_export_csv(polled):
    res = polled.cli("export", "--from", "2026-11-17", "--to", "2026-11-17", "--format", "csv",
                     now=CLOSE_NOW)
    lines = res.out.strip().splitlines()
    assert lines[0].startswith("record,email,date")
    assert any(line.startswith("violation,han.mei@example.com,2026-11-17,,,missing")
               for line in lines)


def test_second_poll_and_close_are_idempotent(polled):
    before = polled.cli("export", "--from", "2026-11-01", "--to", "2026-11-30", now=CLOSE_NOW).out
    again = polled.cli("poll", "--once", now=CLOSE_NOW)
    assert again.code == 0 and "0 fetched, 0 new" in again.out
    closed = polled.cli("close-day", "--date", "2026-11-20", now=CLOSE_NOW)
    assert "already closed" in closed.out
    after = polled.cli("export", "--from", "2026-11-01", "--to", "2026-11-30", now=CLOSE_NOW).out
    assert before == after


def test_mailboxes_are_not_changed(polled):
    client = imap_login("127.0.0.1", polled.server.port, "hr@example.com", "secret-hr")
    client.select_folder(polled.folder, readonly=True)
    flags = client.get_flags(client.search("ALL"))
    client.logout()
    assert flags and all(b"\\Seen" not in f for f in flags.values())


def test_new_mail_after_first_poll_is_fetched_incrementally(polled):
    from week import daily
    d = daily("han", 20, 20, tag="later")
    client = imap_login("127.0.0.1", polled.server.port, "hr@example.com", "secret-hr")
    deliver(client, polled.folder, d.raw, d.at)
    client.logout()
    res = polled.cli("poll", "--once", now=CLOSE_NOW)
    assert "1 fetched, 1 new" in res.out
    assert status(polled, "2026-11-20")["han.mei@example.com"] == ("on_time", [])


def test_export_streamed_is_the_document_json_writes(polled):
    """export writes record by record; the text is still exactly the indented document
    (the contract's shape), and the CSV lists its parts in their order."""
    res = polled.cli("export", "--from", "2026-11-13", "--to", "2026-11-21", now=CLOSE_NOW)
    data = json.loads(res.out)
    assert list(data) == ["reports", "violations", "leave", "reviews", "commands", "unparsed"]
    assert data["reports"] and data["violations"] and data["unparsed"]
    assert res.out == json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    csv_out = polled.cli("export", "--from", "2026-11-13", "--to", "2026-11-21", "--format",
                         "csv", now=CLOSE_NOW).out
    import csv as csvmod
    import io
    records = [row["record"] for row in csvmod.DictReader(io.StringIO(csv_out))]
    order = ["report", "violation", "unparsed", "leave", "review", "command"]
    assert records == sorted(records, key=order.index)
    assert records.count("report") == len(data["reports"])
    assert records.count("violation") == len(data["violations"])
    assert records.count("unparsed") == len(data["unparsed"]) == 1


def test_status_streamed_is_the_document_json_writes(polled):
    """status --json writes person by person; the text is still the indented document,
    people in region and email order, and the table lists the same people."""
    res = polled.cli("status", "--date", "2026-11-19", "--json", now=CLOSE_NOW)
    data = json.loads(res.out)
    assert list(data) == ["date", "people", "unknown_deliveries"]
    assert res.out == json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    order = [(p["region"], p["email"]) for p in data["people"]]
    assert len(order) > 3 and order == sorted(order)
    table = polled.cli("status", "--date", "2026-11-19", now=CLOSE_NOW).out
    assert f"{len(order)} salespeople" in table
    assert all(email in table for _, email in order)
