"""export's writers take each record as it comes: nothing before it is held back, so what
`export` holds is one record, not the range (the text itself is pinned in
test_poll_week.py against the real record)."""

from __future__ import annotations

import io
import json

from mailflow.records.export import to_csv, write_csv, write_json

DOC = {"reports": [{"email": "a@x", "fields": {"work": "拜访\n两家"}, "metrics": {},
                    "violations": []},
                   {"email": "b@x", "fields": {}, "metrics": {"sales": 1.5},
                    "violations": ["late"]}],
       "violations": [], "leave": [], "reviews": [{"comment": "好", "bulk": False}],
       "commands": [], "unparsed": [{"error": "no From header", "message_id": None}]}


def _watched(out: io.StringIO, records: list[dict], seen: list[int]):
    for record in records:
        yield record
        seen.append(len(out.getvalue()))   # how much was written once it was handed out


def test_write_json_writes_each_record_before_asking_for_the_next():
    out = io.StringIO()
    seen: list[int] = []
    write_json(((name, _watched(out, records, seen)) for name, records in DOC.items()), out)
    assert out.getvalue() == json.dumps(DOC, ensure_ascii=False, indent=2) + "\n"
    assert len(seen) == 4 and seen == sorted(seen) and len(set(seen)) == len(seen)
    empty = io.StringIO()
    write_json(iter([("reports", iter([])), ("unparsed", iter([]))]), empty)
    assert empty.getvalue() == json.dumps({"reports": [], "unparsed": []}, indent=2) + "\n"


def test_write_csv_writes_each_record_before_asking_for_the_next():
    reports = [{"email": f"s{i}@x", "report_date": "2026-11-27", "kind": "daily",
                "status": "on_time", "received_at": "2026-11-27T18:00:00+08:00",
                "subject": "日报", "violations": [], "metrics": {"visits": i},
                "message_id": f"m{i}"} for i in range(3)]
    out = io.StringIO()
    seen: list[int] = []
    write_csv(iter([("reports", _watched(out, reports, seen))]), out)
    # csv writes each row to `out` at once: three rows, three larger outputs.
    assert seen == sorted(seen) and len(set(seen)) == 3
    assert out.getvalue() == to_csv({"reports": reports})
    assert out.getvalue().splitlines()[1].startswith("report,s0@x,2026-11-27,daily,on_time")


def test_write_json_writes_a_plain_value_as_itself():
    out = io.StringIO()
    write_json(iter([("date", "2026-11-19"), ("people", iter([{"name": "冯喆"}])),
                     ("unknown_deliveries", [])]), out)
    assert out.getvalue() == json.dumps({"date": "2026-11-19", "people": [{"name": "冯喆"}],
                                         "unknown_deliveries": []},
                                        ensure_ascii=False, indent=2) + "\n"


def test_spool_gives_back_its_rows_and_measures_them_as_a_list_does():
    from openpyxl import load_workbook

    from mailflow.mails import sheets

    rows = [["华东", "冯喆", f"s{i}@example.com", "2026-11-02", "on_time", "18:00", ""]
            for i in range(4500)] + [["华南", "李娜", "li@example.com", "2026-11-03",
                                      "missing", "", "missing late"]]
    with sheets.Spool() as spool:
        for row in rows:
            spool.add(row)
        assert len(spool) == len(rows) and list(spool) == rows and list(spool) == rows
        from_spool, from_list = io.BytesIO(), io.BytesIO()
        sheets.workbook([("明细", ["区域", "姓名", "邮箱", "日期", "状态", "首次提交", "违规"],
                          spool)], from_spool)
        listed = sheets.workbook([("明细", ["区域", "姓名", "邮箱", "日期", "状态", "首次提交",
                                           "违规"], rows)])
        csv_spool = io.BytesIO()
        sheets.write_csv(["a"] * 7, spool, csv_spool)
        assert csv_spool.getvalue() == sheets.csv_bytes(["a"] * 7, rows)
    a = load_workbook(from_spool, read_only=True)["明细"]
    b = load_workbook(io.BytesIO(listed), read_only=True)["明细"]
    assert [list(r) for r in a.iter_rows(values_only=True)] == \
        [list(r) for r in b.iter_rows(values_only=True)]
    import zipfile
    sheet_xml = [zipfile.ZipFile(f).read("xl/worksheets/sheet1.xml")
                 for f in (from_spool, io.BytesIO(listed))]
    assert sheet_xml[0] == sheet_xml[1]      # the same widths, dimension and cells


from collections import OrderedDict  # noqa: E402

from hypothesis import given, strategies as st  # noqa: E402

from mailflow.records.export import indented  # noqa: E402

_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
            | st.text(alphabet=st.characters(codec="utf-8")) | st.sampled_from(
                ["日报", "拜访\n两家", "\u2028", "\"引号\" \\ \t", ""]))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.lists(inner, max_size=3).map(tuple)
                     | st.dictionaries(st.text(max_size=4), inner, max_size=3).map(
                         OrderedDict)
                     | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=4),
                     max_leaves=20)


@given(_JSON, st.sampled_from(["", "  ", "    "]))
def test_indented_is_json_dumps_indent_2_byte_for_byte(value, pad):
    assert indented(value, pad) == json.dumps(value, ensure_ascii=False, indent=2).replace(
        "\n", "\n" + pad)


def test_indented_refuses_what_json_refuses():
    import pytest
    with pytest.raises(TypeError):
        indented({"a": [object()]})
