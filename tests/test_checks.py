"""Each check alone, on parsed fixtures, with the clock and roster given."""

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import ROSTER, read_mail, report
from mailflow.judging.checks import Context, Facts, run_checks
from mailflow.judging.checks import copy, dates, deadline, sender
from mailflow.judging.classify import classify
from mailflow.parsing.parse import parse_mail
from mailflow.config.policy import load_policy
from mailflow.config.roster import load_roster
from mailflow.judging.sections import extract
from mailflow.dates.workdays import Workdays

POLICY = load_policy(Path(__file__).resolve().parent.parent / "rules")
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    path = tmp_path_factory.mktemp("r") / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return Context(POLICY, load_roster(path), Workdays(POLICY.workdays), TZ,
                   frozenset({"hr@example.com"}), ("mx.example.com",))


def facts(name, ctx, at="2026-11-26T20:05:00+08:00", raw=None):
    received = datetime.fromisoformat(at)
    mail = parse_mail(raw or read_mail(name))
    cls = classify(mail, received, TZ, ctx.roster, POLICY)
    return Facts(mail, cls, received, extract(mail.body, POLICY.daily))


def codes(verdicts):
    return sorted(v.code for v in verdicts)


def test_clean_report_passes_every_check(ctx):
    assert run_checks(facts("on_time_foxmail.eml", ctx), ctx) == []


def test_deadline_and_grace(ctx):
    assert deadline.earned_status(facts("on_time_foxmail.eml", ctx, "2026-11-26T21:00:00+08:00"),
                                  ctx) == "on_time"
    late = facts("on_time_foxmail.eml", ctx, "2026-11-26T21:00:01+08:00")
    assert codes(deadline.check(late, ctx)) == ["late"]
    graced = Context(POLICY.__class__(POLICY.daily.__class__(**{**POLICY.daily.__dict__,
                                                              "grace_minutes": 15}),
                                      POLICY.workdays, POLICY.kinds),
                     ctx.roster, ctx.workdays, TZ, ctx.hr, ctx.authserv_ids)
    assert deadline.check(late, graced) == []


def test_deadline_judged_in_company_zone_whatever_the_offset(ctx):
    # 13:30 UTC is 21:30 in Shanghai: late, although the UTC clock says afternoon.
    f = facts("on_time_foxmail.eml", ctx, "2026-11-26T13:30:00+00:00")
    assert deadline.earned_status(f, ctx) == "late"


def test_non_workday_and_before_start_are_not_due(ctx):
    sat = report(subject="日报 2026-11-28")
    assert deadline.earned_status(facts("", ctx, "2026-11-28T23:00:00+08:00", sat), ctx) == "not_due"
    li = report(from_addr="li.na@example.com", subject="日报 2026-11-17")
    assert deadline.earned_status(facts("", ctx, "2026-11-17T22:00:00+08:00", li), ctx) == "not_due"


def test_copy_rules(ctx):
    assert codes(copy.check(facts("hr_in_to_not_cc.eml", ctx), ctx)) == ["hr_not_cc"]
    wrong = copy.check(facts("wrong_supervisor.eml", ctx), ctx)
    assert codes(wrong) == ["not_to_supervisor"]
    assert "qian.zg@example.com" in wrong[0].detail


def test_supervisor_judged_on_the_report_date(ctx):
    # Zhao Lei moved from 华东 (qian) to 华南 (sun) on 2026-11-18.
    raw = report(from_addr="zhao.lei@example.com")
    assert codes(copy.check(facts("", ctx, raw=raw), ctx)) == ["not_to_supervisor"]
    old = report(from_addr="zhao.lei@example.com", subject="日报 2026-11-17")
    assert copy.check(facts("", ctx, "2026-11-17T20:00:00+08:00", old), ctx) == []


def test_missing_section_named(ctx):
    f = facts("missing_plan_section.eml", ctx)
    assert [(v.code, v.detail) for v in run_checks(f, ctx)] == [("missing_section", "明日计划")]


def test_date_mismatch(ctx):
    future = read_mail("on_time_foxmail.eml")  # subject says 2026-11-26
    assert codes(dates.check(facts("", ctx, "2026-11-25T20:00:00+08:00", future), ctx)) == \
        ["date_mismatch"]
    # Arrived Monday 11-30; 3 workdays back is Wed 11-25; 11-24 is too far back.
    old = report(subject="日报 2026-11-24")
    assert codes(dates.check(facts("", ctx, "2026-11-30T09:00:00+08:00", old), ctx)) == \
        ["date_mismatch"]
    ok = report(subject="日报 2026-11-25")
    assert dates.check(facts("", ctx, "2026-11-30T09:00:00+08:00", ok), ctx) == []


def test_unknown_sender_and_display_name_spoof(ctx):
    f = facts("spoof_display_name_outside.eml", ctx)
    assert codes(sender.check(f, ctx)) == ["spoof_suspected", "unknown_sender"]
    assert f.cls.email == "fengzhe2026@163.com"
    assert f.cls.person is None


def test_authentication_results_only_topmost_trusted_counts(ctx):
    assert codes(sender.check(facts("authres_dkim_fail.eml", ctx), ctx)) == ["spoof_suspected"]
    assert codes(sender.check(facts("authres_forged_below.eml", ctx), ctx)) == ["spoof_suspected"]
    # A passing header for the company's id written by the sender above a foreign one:
    # the topmost with the trusted id passes, and the foreign fail is not ours to trust.
    assert sender.check(facts("authres_forged_only.eml", ctx), ctx) == []


def test_check_order_is_data(ctx):
    only_copy = Context(POLICY.__class__(POLICY.daily.__class__(**{**POLICY.daily.__dict__,
                                                                 "checks": ("copy",)}),
                                         POLICY.workdays, POLICY.kinds),
                        ctx.roster, ctx.workdays, TZ, ctx.hr, ctx.authserv_ids)
    f = facts("missing_plan_section.eml", ctx, "2026-11-26T23:00:00+08:00",
              read_mail("missing_plan_section.eml"))
    assert run_checks(f, only_copy) == []
    assert codes(run_checks(f, ctx)) == ["late", "missing_section"]


def test_received_at_must_be_aware():
    from mailflow.inbound.rawmail import RawMail
    with pytest.raises(ValueError):
        RawMail(b"x", datetime(2026, 11, 26, 12, 0), "hr", "INBOX")
    RawMail(b"x", datetime(2026, 11, 26, 12, 0, tzinfo=timezone(timedelta(hours=8))), "hr", "INBOX")
