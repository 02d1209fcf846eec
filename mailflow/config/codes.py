"""Every rule code and day status mailflow records, listed once.

A code is the contract between the rules, the record (violations.code), the export's JSON
and the wording in templates/problems.toml; this module is where each is named. It sits
with the configuration because the rules files name codes and checks (rules/daily.toml
[checks] order, rules/notify.toml [notices] codes) and are validated against these lists
when they are read. tests/test_codes.py holds each list to the checks that give the codes
and to the wording that explains them.
"""

from __future__ import annotations

# The daily report's checks, in their default order, each with the codes it can give.
# judging/checks/<name>.py is the check called <name>; rules/daily.toml may reorder them.
CHECK_CODES: dict[str, tuple[str, ...]] = {
    "sender": ("unknown_sender", "spoof_suspected"),
    "deadline": ("late",),
    "copy": ("not_to_supervisor", "hr_not_cc"),
    "sections": ("missing_section",),
    "dates": ("date_mismatch",),
}
CHECKS = tuple(CHECK_CODES)

# Codes recorded by other steps than the daily checks.
WEEKLY_COPY_CODES = ("not_to_management", "hr_not_cc")       # a weekly report's copy rules
CLOSE_DAY_CODES = ("missing",)
CLOSE_WEEK_CODES = ("weekly_missing", "weekly_late")
CLOSE_MONTH_CODES = ("assessment_missing", "indicators_missing")
# A supervisor's daily clearing (日清) of a day not done by its due time.
CLOSE_CLEARING_CODES = ("clearing_missing",)

CODES: tuple[str, ...] = tuple(dict.fromkeys(
    [c for codes in CHECK_CODES.values() for c in codes]
    + [*WEEKLY_COPY_CODES, *CLOSE_DAY_CODES, *CLOSE_WEEK_CODES, *CLOSE_MONTH_CODES,
       *CLOSE_CLEARING_CODES]))

# Verdicts about the day (the first report decides late, the latest decides
# missing_section) versus verdicts about one mail (copy rules stay with the mail).
DAY_CODES = ("late", "missing_section", "missing")
# The codes a salesperson can be sent a notice for (templates/problems.toml what/fix).
NOTICE_CODES = ("hr_not_cc", "not_to_supervisor", "missing_section", "date_mismatch")
# The codes counted as rule breaks in a period's figures (late and missing count apart).
BREAK_CODES = ("hr_not_cc", "not_to_supervisor", "missing_section", "date_mismatch",
               "spoof_suspected")

# A salesperson's day: on_time or late by the first report, missing once the day is
# closed without one, pending before that, not_due when no report is owed, excused on a
# workday of approved whole-day leave of an excused kind (rules/leave.toml) or whose
# `missing` HR withdrew.
STATUSES = ("on_time", "late", "missing", "pending", "not_due", "excused")

# Words the mails put around a code's label, worded in templates/problems.toml [labels]
# like the codes: "corrected" marks a break the person fixed by sending again that day.
MARKS = ("corrected",)
