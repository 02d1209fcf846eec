"""mails/render.py on its own: the real templates rendered with the mail modules' sample
contexts (mails/kinds.py), escaping, strictness and the wording file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailflow.errors import ConfigError
from mailflow.mails.kinds import sample_contexts
from mailflow.mails.render import Renderer, one_line

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


def test_a_reminder_names_the_day_the_person_and_the_deadline(renderer):
    mail = renderer.render("reminder", sample_contexts()["reminder"])
    assert mail.subject.strip() == "日报提醒：2026-11-26（周四）的日报还没有收到"
    assert "张三" in mail.text and "21:00" in mail.text
    assert "张三" in mail.html and "21:00" in mail.html


def test_report_content_is_escaped_in_html_and_kept_in_text(renderer):
    context = {**sample_contexts()["notice"], "subject": "日报 <b>11-26</b> & 周报"}
    mail = renderer.render("notice", context)
    assert "日报 &lt;b&gt;11-26&lt;/b&gt; &amp; 周报" in mail.html
    assert "<b>11-26</b>" not in mail.html
    assert "「日报 <b>11-26</b> & 周报」" in mail.text


def test_a_template_naming_a_value_nobody_gives_is_a_config_error(tmp_path, renderer):
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    (folder / "meeting.subject.j2").write_text("周六会议 {{ meeting_room }}", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        Renderer(folder).render("meeting", sample_contexts()["meeting"])
    problem = err.value.problems[0]
    assert str(folder) in str(problem) and "meeting" in str(problem)
    assert "meeting_room" in str(problem)


def test_labels_and_the_two_ways_hr_can_be_missed(renderer):
    assert renderer.label("late") == "迟交"
    assert renderer.label("missing_section", "明日计划") == "缺少「明日计划」"
    assert renderer.label("no_such_code") == "no_such_code"   # shown as is, never blank
    people = {"hr": "hr@example.com", "supervisor_name": "钱主管", "supervisor": "q@example.com"}
    in_to = renderer.problem_text("hr_not_cc", "in_to", people)
    missing = renderer.problem_text("hr_not_cc", "missing", people)
    assert "在收件人（To）里" in in_to["what"] and "hr@example.com" in in_to["what"]
    assert missing["what"] == "抄送（Cc）里没有人事。"
    assert "钱主管" in in_to["fix"] and "hr@example.com" in missing["fix"]


def test_a_header_value_is_one_line():
    assert one_line("日报\r\nBcc: evil@example.com\t 11-26") == "日报 Bcc: evil@example.com 11-26"
