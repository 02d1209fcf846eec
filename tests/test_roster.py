from datetime import date

import pytest

from conftest import ROSTER
from mailflow.errors import ConfigError
from mailflow.config.roster import load_roster


def write(tmp_path, text):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_effective_dates(tmp_path):
    roster = load_roster(write(tmp_path, ROSTER))
    assert roster.person("zhao.lei@example.com", date(2026, 11, 17)).region == "华东"
    assert roster.person("ZHAO.LEI@example.com", date(2026, 11, 18)).region == "华南"
    assert roster.person("li.na@example.com", date(2026, 11, 17)) is None
    assert roster.person("li.na@example.com", date(2026, 11, 18)).probation is True
    assert {p.email for p in roster.on(date(2026, 11, 17), "sales")} == {
        "feng.zhe@example.com", "han.mei@example.com", "zhao.lei@example.com"}


@pytest.mark.parametrize("row,where,words", [
    ("x@example.com,X,sales,华东,nobody@example.com,2025-01-01,,no", "supervisor",
     "not a supervisor"),
    ("feng.zhe@example.com,冯喆,sales,华东,qian.zg@example.com,2026-01-01,,no", "email",
     "overlapping"),
    ("y@example.com,Y,sales,华东,qian.zg@example.com,2025-13-01,,no", "start_date", "not a date"),
    ("z@example.com,Z,boss,华东,,2025-01-01,,no", "role", "not a role"),
    ("w@example.com,W,sales,华东,qian.zg@example.com,2025-02-01,2025-01-01,no", "end_date",
     "before"),
])
def test_problems_name_file_line_and_fix(tmp_path, row, where, words):
    path = write(tmp_path, ROSTER + row + "\n")
    with pytest.raises(ConfigError) as err:
        load_roster(path)
    problem = err.value.problems[0]
    assert problem.file == str(path)
    assert problem.key == f"line 11, {where}"
    assert words in problem.message
    assert problem.fix


def test_bad_header(tmp_path):
    with pytest.raises(ConfigError, match="line 1"):
        load_roster(write(tmp_path, "mail,name\n"))
