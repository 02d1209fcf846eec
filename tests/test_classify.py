from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import MAIL, ROSTER, read_mail
from mailflow.judging.classify import classify, subject_date, strip_prefixes
from mailflow.parsing.parse import parse_mail
from mailflow.config.policy import load_policy
from mailflow.config.roster import load_roster

POLICY = load_policy(Path(__file__).resolve().parent.parent / "rules")
TZ = ZoneInfo("Asia/Shanghai")
ARRIVAL = date(2026, 11, 26)


@pytest.mark.parametrize("subject,expected", [
    ("日报 2026-11-26", date(2026, 11, 26)), ("日报 2026/11/25", date(2026, 11, 25)),
    ("日报 2026.11.24", date(2026, 11, 24)), ("工作日报20261123", date(2026, 11, 23)),
    ("日报 11月26日", date(2026, 11, 26)), ("日报11.25", date(2026, 11, 25)),
    ("日报 11-24", date(2026, 11, 24)), ("daily report 11/23", date(2026, 11, 23)),
    ("日报 2026年11月26日", date(2026, 11, 26)), ("日报 １１月２６日", date(2026, 11, 26)),
    ("日报", None), ("日报 冯喆", None),
])
def test_subject_dates(subject, expected):
    assert subject_date(subject, ARRIVAL) == expected


def test_year_inferred_across_new_year():
    assert subject_date("日报 12月31日", date(2027, 1, 2)) == date(2026, 12, 31)
    assert subject_date("日报 1月2日", date(2026, 12, 31)) == date(2027, 1, 2)


@pytest.mark.parametrize("subject,kind", [
    ("Re: 日报", "reply"), ("RE：日报", "reply"), ("回复：日报", "reply"), ("答复: 日报", "reply"),
    ("Fw: 日报", "forward"), ("FWD: 日报", "forward"), ("转发：回复: 日报", "forward"),
    ("Re: Fw: Re: 日报", "reply"), ("日报", None), ("Re[2]: 日报", "reply"),
])
def test_prefixes(subject, kind):
    assert strip_prefixes(subject, POLICY)[1] == kind


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    path = tmp_path_factory.mktemp("r") / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return load_roster(path)


def _classify(name, roster, when=datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)):
    return classify(parse_mail(read_mail(name)), when, TZ, roster, POLICY)


@pytest.mark.parametrize("name,kind", [
    ("on_time_foxmail.eml", "daily"), ("reply_re.eml", "reply"),
    ("forward_fw_fullwidth.eml", "forward"), ("reply_header_fresh_subject.eml", "daily"),
    ("auto_reply.eml", "auto"), ("bounce_dsn.eml", "auto"), ("glued_subject_date.eml", "daily"),
    ("spoof_display_name_outside.eml", "daily"),
])
def test_kinds(name, kind, roster):
    assert _classify(name, roster).kind == kind


def test_report_date_from_subject_else_arrival_in_company_zone(roster):
    assert _classify("glued_subject_date.eml", roster).report_date == date(2026, 11, 25)
    # 17:30 UTC on the 26th is already the 27th in Shanghai.
    late_utc = datetime(2026, 11, 26, 17, 30, tzinfo=timezone.utc)
    assert _classify("no_message_id.eml", roster, late_utc).report_date == date(2026, 11, 27)


def test_naive_arrival_refused(roster):
    with pytest.raises(ValueError):
        _classify("on_time_foxmail.eml", roster, datetime(2026, 11, 26, 12, 0))


def test_supervisor_titled_daily_report_is_not_a_salesperson_report(roster):
    mail = parse_mail(read_mail("on_time_foxmail.eml").replace(
        b"feng.zhe@example.com", b"qian.zg@example.com"))
    cls = classify(mail, datetime(2026, 11, 26, 12, tzinfo=timezone.utc), TZ, roster, POLICY)
    assert cls.kind == "other"


def test_fixture_folder_exists():
    assert (MAIL / "clients").is_dir()


# -- leave and corrections by mail -------------------------------------------------------

@pytest.mark.parametrize("sender,subject,text,kind", [
    ("feng.zhe@example.com", "病假 11月27日", "发烧", "leave"),
    ("feng.zhe@example.com", "请假申请", "钱主管：\n我明天上午请假半天去医院。", "leave"),
    ("feng.zhe@example.com", "请假", "有事想请假，回头再说", "other"),        # no date
    ("feng.zhe@example.com", "Re: 病假 11月27日", "同意", "reply"),
    ("feng.zhe@example.com", "工作日报 11月26日（明天调休）", "…", "daily"),
    ("feng.zhe@example.com", "日报 11月26日 更正", "重发", "daily"),
    ("qian.zg@example.com", "请假登记", "冯喆 11月27日", "registration"),
    ("qian.zg@example.com", "病假 冯喆", "冯喆 11月27日", "registration"),
    ("qian.zg@example.com", "明天我休假", "11月27日", "other"),       # names no one
    ("hr@example.com", "更正：11月24日漏交", "赵磊 11月24日 原因", "correction"),
    ("zhao.lei@example.com", "豁免 11月24日", "赵磊 11月24日 出差", "correction"),
])
def test_leave_kinds(roster, sender, subject, text, kind):
    from mailflow.testing.clientmail import Draft, write
    raw = write("foxmail", Draft(from_name="", from_addr=sender,
                                 to=(("", "qian.zg@example.com"),), cc=(), subject=subject,
                                 sections=(), date=datetime(2026, 11, 26, 9, tzinfo=TZ),
                                 message_id="k@example.com", text=text))
    cls = classify(parse_mail(raw), datetime(2026, 11, 26, 1, tzinfo=timezone.utc), TZ,
                   roster, POLICY)
    assert cls.kind == kind
