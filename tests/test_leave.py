"""Leave and HR's corrections on the record side: rules/leave.toml, the leave ledger, the
`excused` day, `mailflow leave|excuse|history`, HR's leave.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailflow.config.policy import load_policy
from mailflow.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_leave_rules_hold_the_spec_defaults():
    leave = load_policy(ROOT / "rules").leave
    assert leave.approval == "supervisor"
    assert [(k.name, k.excused) for k in leave.kinds] == [("请假", True), ("出差", False)]
    for alias in "事假 病假 年假 婚假 丧假 产假 陪产假 休假 调休".split():
        assert leave.kind(alias).name == "请假"
    assert leave.kind("出差").excused is False and leave.kind("旅游") is None
    assert leave.refuse_words[0] == "不同意" and "准假" in leave.approve_words
    assert leave.half_day_words == ("上午", "下午", "半天")
    assert leave.registration_words == ("请假登记",)
    assert leave.correction_words == ("豁免", "更正")


def test_bad_leave_rules_name_file_key_and_fix(project):
    path = project.root / "rules" / "leave.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'approval = "supervisor"', 'approval = "boss"\ncolour = "red"').replace(
        'aliases = []', 'aliases = ["病假"]'), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_policy(project.root / "rules")
    found = {(p.file, p.key) for p in err.value.problems}
    assert found == {(str(path), "approval"), (str(path), "colour"),
                     (str(path), "kinds.出差.aliases")}
    res = project.cli("check-config")
    assert res.code == 1
    assert f"{path}: approval" in res.out and '"supervisor"' in res.out
    assert f"{path}: colour" in res.out and "is not a known key" in res.out
    assert "'病假' is also a name of kind '请假'" in res.out
    assert "Traceback" not in res.out + res.err


def test_a_kind_without_excused_is_a_problem(project):
    path = project.root / "rules" / "leave.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "excused = false\n", ""), encoding="utf-8")
    res = project.cli("check-config")
    assert res.code == 1 and "kinds.出差.excused" in res.out and "excused = true" in res.out


def test_init_writes_leave_rules(tmp_path):
    from mailflow.config.init import init

    init(tmp_path / "co", "2026-11-30")
    assert load_policy(tmp_path / "co" / "rules").leave.kind("病假").excused
