"""Each rule code, status and mail kind is listed once (config/codes.py, mails/kinds.py);
these tests hold the lists to what the checks give, to the wording in
templates/problems.toml and to the templates folder."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from mailflow.config import codes
from mailflow.judging import checks
from mailflow.mails.kinds import KINDS, sample_contexts
from mailflow.mails.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
CHECKS_DIR = ROOT / "mailflow" / "judging" / "checks"


def _verdict_codes(path: Path, function: str) -> set[str]:
    """The codes written as Verdict("code", …) in one function of a check module."""
    tree = ast.parse(path.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    return {call.args[0].value for call in ast.walk(fn)
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Verdict"
            and call.args and isinstance(call.args[0], ast.Constant)}


def test_the_registry_is_the_code_list():
    assert tuple(checks.REGISTRY) == codes.CHECKS
    modules = {p.stem for p in CHECKS_DIR.glob("*.py")} - {"__init__", "base"}
    assert modules == set(codes.CHECKS), "a check module that config/codes.py does not list"


def test_each_check_gives_only_its_listed_codes():
    for name, listed in codes.CHECK_CODES.items():
        given = _verdict_codes(CHECKS_DIR / f"{name}.py", "check")
        assert given, f"checks/{name}.py: no Verdict codes found"
        assert given <= set(listed), f"checks/{name}.py gives {given - set(listed)}"
    weekly = _verdict_codes(CHECKS_DIR / "copy.py", "check_weekly")
    assert weekly == set(codes.WEEKLY_COPY_CODES)


def test_the_named_groups_are_made_of_known_codes():
    known = set(codes.CODES)
    for group in (codes.DAY_CODES, codes.NOTICE_CODES, codes.BREAK_CODES):
        assert set(group) <= known, set(group) - known
    assert len(codes.CODES) == len(set(codes.CODES))


def test_every_code_a_mail_shows_has_its_wording():
    wording = tomllib.loads((TEMPLATES / "problems.toml").read_text())
    labels = wording["labels"]
    daily = {c for cs in codes.CHECK_CODES.values() for c in cs}
    missing = [c for c in (*codes.STATUSES, *sorted(daily), *codes.MARKS) if c not in labels]
    assert not missing, f"templates/problems.toml [labels] lacks {missing}"
    for code in codes.NOTICE_CODES:
        entry = wording.get(code)
        assert entry, f"templates/problems.toml has no [{code}] (a notice explains it)"
        variants = [v for v in entry.values() if isinstance(v, dict)] or [entry]
        for v in variants:
            assert v.get("what") and v.get("fix"), f"[{code}] needs both what and fix"
    unknown = (set(labels) - set(codes.CODES) - set(codes.STATUSES) - set(codes.MARKS)) | \
        (set(wording) - {"labels"} - set(codes.NOTICE_CODES))
    assert not unknown, f"templates/problems.toml words codes that do not exist: {unknown}"


def test_every_template_kind_has_a_sample_and_renders_with_it():
    on_disk = {p.name.split(".")[0] for p in TEMPLATES.glob("*.subject.j2")}
    assert on_disk == set(KINDS)
    renderer = Renderer(TEMPLATES)
    samples = sample_contexts()
    for kind in KINDS:
        mail = renderer.render(kind, samples[kind])
        assert mail.subject.strip() and mail.text.strip(), kind
        assert "示例销售有限公司" in mail.text + mail.html, f"{kind}: the company is not named"
