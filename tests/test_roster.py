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


def test_a_roster_read_before_comes_from_the_cache_and_an_edit_is_read_afresh(
        tmp_path, monkeypatch):
    from mailflow.config import roster as roster_module, rostercache

    monkeypatch.setenv("MAILFLOW_CACHE_DIR", str(tmp_path / "cache"))
    path = write(tmp_path, ROSTER)
    first = load_roster(path)
    assert len(list((tmp_path / "cache").glob("roster-*.pickle"))) == 1
    parsed: list[object] = []
    real = roster_module._parse
    monkeypatch.setattr(roster_module, "_parse",
                        lambda *a: parsed.append(a) or real(*a))
    again = load_roster(path)
    assert parsed == [] and again.people == first.people      # not parsed again
    assert again.person("li.na@example.com", date(2026, 11, 18)).probation is True
    # HR edits the file: the new rows are read, and the broken edit is refused, not
    # answered from the cache.
    path.write_text(ROSTER.replace("李娜,sales,华南,sun.zg@example.com,2026-11-18,,yes",
                                   "李娜,sales,华南,sun.zg@example.com,2026-11-18,,no"),
                    encoding="utf-8")
    assert load_roster(path).person("li.na@example.com", date(2026, 11, 18)).probation \
        is False
    path.write_text(ROSTER + "z@example.com,Z,boss,华东,,2025-01-01,,no\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a role"):
        load_roster(path)
    assert len(parsed) == 2
    # A damaged entry is parsed past, and so is a cache folder that cannot be written.
    path.write_text(ROSTER, encoding="utf-8")
    for entry in (tmp_path / "cache").glob("roster-*.pickle"):
        entry.write_bytes(b"not a pickle")
    assert load_roster(path).people == first.people
    (tmp_path / "blocked").write_text("a file where the folder would be")
    monkeypatch.setenv("MAILFLOW_CACHE_DIR", str(tmp_path / "blocked" / "cache"))
    assert load_roster(path).people == first.people
    # The folder keeps the newest few rosters, not every one ever read.
    monkeypatch.setenv("MAILFLOW_CACHE_DIR", str(tmp_path / "many"))
    for n in range(rostercache.KEEP + 3):
        load_roster(write(tmp_path, ROSTER + f"x{n}@example.com,X,hr,,,2024-01-01,,no\n"))
    assert len(list((tmp_path / "many").glob("roster-*.pickle"))) == rostercache.KEEP
