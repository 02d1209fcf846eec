"""`mailflow demo` as a user runs it: its mail tells the truth about every person and day,
and its --out folder never costs anyone a file the demo did not write."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from conftest import ROOT

CST = timezone(timedelta(hours=8))
LABELS = tomllib.loads((ROOT / "templates" / "problems.toml").read_text(encoding="utf-8"))["labels"]


def demo(out: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mailflow", "demo", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One `mailflow demo` for the module: its output folder and what it printed."""
    root = tmp_path_factory.mktemp("demo")
    res = demo(root / "out", cwd=root)
    assert res.returncode == 0, res.stderr
    return root / "out", res


@pytest.fixture(scope="module")
def demo_out(demo_run) -> Path:
    return demo_run[0]


def mails(folder: Path) -> list:
    out = []
    for path in sorted(folder.glob("*/*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=default)
        out.append((path.parent.name, str(msg["Subject"]),
                    parsedate_to_datetime(str(msg["Date"])).astimezone(CST),
                    msg.get_body(("plain",)).get_content()))
    return out


def statuses(folder: Path) -> dict[str, dict[str, dict]]:
    """day → email → that person's entry in the demo's `status --json` of the day."""
    out = {}
    for path in folder.glob("status-*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[data["date"]] = {p["email"]: p for p in data["people"]}
    return out


def received(person: dict) -> datetime | None:
    at = person["received_at"]
    return datetime.fromisoformat(at).astimezone(CST) if at else None


def test_demo_runs_the_pipeline_and_writes_its_files(demo_run):
    out, res = demo_run
    assert "[5/5]" in res.stderr
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "[4/5]" in res.stderr and "weekly_draft" in res.stderr
    yang = next(line for line in summary.splitlines() if "杨帆" in line)
    assert yang.split()[2:7] == ["✓", "✓", "MISSING", "✓", "✓"]
    han = next(line for line in summary.splitlines() if "韩梅" in line)
    assert han.split()[3] == "late"
    assert "hr_not_cc" in next(line for line in summary.splitlines() if "赵磊" in line)
    # One block per week: 沈洁's missing of Fri 11-20 excused by HR's correction, 蒋镕's
    # 年假 on Wed 11-25 in the second week's block.
    shen = next(line for line in summary.splitlines() if "沈洁" in line)
    assert shen.split()[6] == "excused"
    jiang = [line for line in summary.splitlines() if "蒋镕" in line]
    assert len(jiang) == 3 and jiang[1].split()[4] == "leave"
    wed = json.loads((out / "status-2026-11-18.json").read_text(encoding="utf-8"))
    assert {p["email"]: p["status"] for p in wed["people"]}["yang.fan@example.com"] == "missing"
    export = json.loads((out / "export.json").read_text(encoding="utf-8"))
    # 钱主管's weekly report of W47 came in time, as HR's monthly mail says (按时).
    assert [(r["email"], r["status"]) for r in export["reports"] if r["kind"] == "weekly"] \
        == [("qian.zg@example.com", "on_time")]
    assert any(v["code"] == "unknown_sender" for v in export["violations"])
    # What each person received, as delivered by the SMTP server.
    digest = next((out / "qian.zg@example.com").glob("*日清_华东_2026-11-18*.html"))
    assert "杨帆" in digest.read_text(encoding="utf-8")
    assert "未交" in digest.read_text(encoding="utf-8")
    assert list((out / "hr@example.com").glob("*日清_华东_2026-11-18*.eml"))  # HR in Cc
    notice = next((out / "zhao.lei@example.com").glob("*需要更正*.eml")).read_bytes()
    from email import message_from_bytes
    from email.policy import default
    text_part = message_from_bytes(notice, policy=default).get_body(("plain",)).get_content()
    assert "人事 hr@example.com 在收件人（To）里" in text_part
    assert list((out / "han.mei@example.com").glob("*日报提醒*.eml"))
    # Every kind of mail of the specification reached its people.
    subjects = {p.name.split("-", 1)[1] for p in out.glob("*/*.eml")}
    for prefix in ("日报提醒", "日报需要更正", "日清", "周报草稿", "周报提醒", "日报合规周报",
                   "日报合规月报", "月底考核", "周六会议通知"):
        assert any(s.startswith(prefix) for s in subjects), prefix
    assert list((out / "gm@example.com").glob("*周六会议通知*.eml"))
    draft = next((out / "qian.zg@example.com").glob("*周报草稿*.eml")).read_bytes()
    assert b"xlsx" in draft
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count('">原件</a>') == sum(1 for _ in out.glob("*/*.eml"))
    assert "\ufffd" not in "".join(p.read_text(encoding="utf-8") for p in out.glob("*/*.html"))


def test_every_reminder_went_to_someone_with_no_report_yet(demo_out):
    status = statuses(demo_out)
    assert len(status) == 14                       # every workday from 11-16 to 12-03
    reminded: dict[str, set[str]] = {}
    for rcpt, subject, sent, _ in mails(demo_out):
        if not subject.startswith("日报提醒"):
            continue
        day = re.search(r"\d{4}-\d{2}-\d{2}", subject).group(0)
        person = status[day][rcpt]
        at = received(person)
        assert at is None or at > sent, f"{person['name']} reported at {at}, reminded at {sent}"
        reminded.setdefault(day, set()).add(rcpt)
    # ... and everyone without a report by the reminder got one (20:00 in rules/notify.toml).
    for day, people in status.items():
        due = datetime.fromisoformat(f"{day}T20:00:00+08:00")
        # Someone on leave approved before 20:00 gets none (HR's correction of a missing
        # comes after the reminder: leave is null on that day).
        expected = {e for e, p in people.items()
                    if p["status"] != "not_due" and not p["leave"] and
                    (received(p) is None or received(p) > due)}
        assert reminded.get(day, set()) == expected, day
    assert sum(len(v) for v in reminded.values()) == 32


def test_every_digest_agrees_with_status_for_each_person(demo_out):
    status = statuses(demo_out)
    digests = [m for m in mails(demo_out) if m[1].startswith("日清") and m[0].endswith(".zg@example.com")]
    assert sorted({(m[0], re.search(r"\d{4}-\d{2}-\d{2}", m[1]).group(0)) for m in digests}) == \
        sorted((sup, day) for sup in ("qian.zg@example.com", "sun.zg@example.com")
               for day in status), "one digest per supervisor and workday"
    assert len(digests) == 2 * len(status)
    label = {v: k for k, v in LABELS.items() if k in ("on_time", "late", "missing")}
    for sup, subject, sent, text in digests:
        day = re.search(r"\d{4}-\d{2}-\d{2}", subject).group(0)
        shown = {}
        for name, word, hhmm in re.findall(r"^- (\S+?)：(按时|迟交|未交)(?:（(\d\d:\d\d)）)?", text,
                                           re.M):
            shown[name] = (label[word], hhmm)
        # People on leave are listed apart (请假), and not counted in 已交 x/y.
        team = [p for p in status[day].values() if p["supervisor"] == sup and not p["leave"]]
        expected = {}
        for p in team:
            at = received(p)
            if at is None or at > sent:
                # Reported after the close (late) or never: at the close it was missing.
                expected[p["name"]] = ("missing", "")
            else:
                expected[p["name"]] = (p["status"], f"{at:%H:%M}")
        assert shown == expected, f"{subject} sent {sent}"
        on_time = sum(1 for v in expected.values() if v[0] == "on_time")
        late = sum(1 for v in expected.values() if v[0] == "late")
        assert f"已交 {on_time + late}/{len(team)}" in subject


def test_the_digest_of_the_readme_picture(demo_out):
    """The README shows 华东's 11-17 digest: 3 of 4 reported, 韩梅 not yet at the close."""
    [(_, subject, _, text)] = [m for m in mails(demo_out) if m[0] == "qian.zg@example.com"
                               and m[1].startswith("日清 华东 2026-11-17")]
    assert subject == "日清 华东 2026-11-17：已交 3/4，未交 1"
    assert "- 韩梅：未交" in text
    [(_, _, _, monday)] = [m for m in mails(demo_out) if m[0] == "qian.zg@example.com"
                           and m[1].startswith("日清 华东 2026-11-16")]
    assert "- 杨帆：按时（20:21）" in monday


def test_index_lists_each_persons_mail_by_day_in_chinese(demo_out):
    index = (demo_out / "index.html").read_text(encoding="utf-8")
    assert "每个人收到的邮件" in index and "What everyone" not in index
    emls = sorted(demo_out.glob("*/*.eml"))
    assert index.count('">原件</a>') == len(emls)
    han = index.split('韩梅 <small>', 1)[1].split("<h2", 1)[0]
    assert "销售 · 华东 · han.mei@example.com" in han
    assert han.count("原件") == len(list((demo_out / "han.mei@example.com").glob("*.eml")))
    days = re.findall(r"<td rowspan=\"\d+\">(\d+)月(\d+)日 周", han)
    assert days == sorted(days, key=lambda d: (int(d[0]), int(d[1])))
    assert len(days) == len(set(days))         # each day once, its mails under it


def test_out_refuses_a_folder_it_did_not_write(tmp_path):
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    files = {"settings.toml": "[company]\nname = \"x\"\n", "roster.csv": "email,name\n",
             "mailflow.db": "not really a database"}
    for name, text in files.items():
        (deploy / name).write_text(text, encoding="utf-8")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in deploy.iterdir()}
    res = demo(Path("."), cwd=deploy)
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: --out . is not empty")
    assert "Traceback" not in res.stderr
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in deploy.iterdir()} == before
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    res = demo(tmp_path / "a-file", cwd=tmp_path)
    assert res.returncode == 1 and "is a file" in res.stderr
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "x"


def test_out_replaces_its_own_earlier_output_and_only_that(tmp_path):
    out = tmp_path / "out"
    first = demo(out, "--from", "2026-11-16", "--to", "2026-11-20", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (out / ".mailflow-demo").is_file()
    # A file from an earlier run the new one will not write, and one the user put there.
    stale = out / "old@example.com" / "01-日报提醒.eml"
    stale.parent.mkdir()
    stale.write_bytes(b"Subject: x\r\n\r\nx\r\n")
    with (out / ".mailflow-demo").open("a", encoding="utf-8") as marker:
        marker.write("old@example.com/01-日报提醒.eml\n../outside.txt\n")
    (tmp_path / "outside.txt").write_text("keep", encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "summary.txt").write_text("edited", encoding="utf-8")
    again = demo(out, "--from", "2026-11-16", "--to", "2026-11-20", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert not stale.exists() and not stale.parent.exists()
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (tmp_path / "outside.txt").read_text(encoding="utf-8") == "keep"
    assert "杨帆" in (out / "summary.txt").read_text(encoding="utf-8")
    assert len(list(out.glob("status-*.json"))) == 5


def test_leave_and_a_correction_by_mail(demo_out):
    """蒋镕's request approved by 钱主管's reply, 朱琳's day registered by 孙主管 and HR's
    correction of 沈洁's missing act on the record and are answered once each."""
    status = statuses(demo_out)
    assert (status["2026-11-25"]["jiang.rong@example.com"]["status"],
            status["2026-11-25"]["jiang.rong@example.com"]["leave"]) == ("excused", "年假")
    assert status["2026-11-27"]["zhu.lin@example.com"]["leave"] == "事假"
    assert (status["2026-11-20"]["shen.jie@example.com"]["status"],
            status["2026-11-20"]["shen.jie@example.com"]["leave"]) == ("excused", None)
    export = json.loads((demo_out / "export.json").read_text(encoding="utf-8"))
    assert sorted((c["action"], c["state"]) for c in export["commands"]) == [
        ("approve", "applied"), ("correct", "applied"), ("register", "applied"),
        ("request", "applied")]
    subjects = [(m[0], m[1]) for m in mails(demo_out)]
    assert [s for r, s in subjects if r == "jiang.rong@example.com"
            and s.startswith("请假已批准")] == ["请假已批准：年假 2026-11-25（周三）"]
    assert [r for r, s in subjects if s.startswith("请假登记已生效")] == ["sun.zg@example.com"]
    assert [r for r, s in subjects if s.startswith("豁免/更正已生效")] == ["hr@example.com"]
    [(_, _, _, digest)] = [m for m in mails(demo_out) if m[0] == "qian.zg@example.com"
                           and m[1].startswith("日清 华东 2026-11-25")]
    assert "- 蒋镕：请假（年假" in digest


def test_one_supervisor_clears_every_day_the_other_does_not(demo_out):
    """钱主管 answers each digest the next morning; 孙主管 only answers on Tuesdays. The
    record, the summary and HR's monthly mail say so."""
    export = json.loads((demo_out / "export.json").read_text(encoding="utf-8"))
    flagged = sorted({(v["email"], v["date"]) for v in export["violations"]
                      if v["code"] == "clearing_missing"})
    assert flagged and {e for e, _ in flagged} == {"sun.zg@example.com"}
    # Tuesdays are the days 孙主管 reviewed: none of them is flagged.
    assert all(date.fromisoformat(d).weekday() != 1 for _, d in flagged)
    by_qian = [r for r in export["reviews"] if r["reviewer"] == "qian.zg@example.com"]
    assert by_qian and all(r["bulk"] for r in by_qian)
    summary = (demo_out / "summary.txt").read_text(encoding="utf-8")
    assert "华东 钱主管: 13 days, 13 cleared on time, 100%" in summary
    monthly = [body for _, subject, _, body in mails(demo_out)
               if subject.startswith("日报合规月报")]
    assert monthly and "华东 钱主管：有日报 11 天，按时日清 11 天，日清率 100%" in monthly[0]
    assert "华南 孙主管：有日报 10 天，按时日清 2 天，日清率 20%" in monthly[0]
