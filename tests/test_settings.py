import pytest

from mailflow.errors import ConfigError
from mailflow.config.policy import load_policy
from mailflow.config.settings import load_settings


def problems_of(project, text):
    project.settings.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(project.settings)
    return err.value.problems


def test_default_settings_file_of_the_repo_loads():
    from conftest import ROOT
    s = load_settings(ROOT / "settings.toml")
    assert s.company.hr == ("hr@example.com",)
    assert s.mailboxes[0].password_env == "MAILFLOW_HR_PASSWORD"
    assert s.database_url == f"sqlite:///{ROOT / 'mailflow.db'}"


def test_password_in_settings_is_refused(project):
    problems = problems_of(project, project.settings.read_text() + """
[[mailbox]]
name = "hr"
host = "imap.example.com"
port = 993
username = "hr@example.com"
password = "hunter2"
password_env = "X"
""")
    p = next(p for p in problems if p.key == "mailbox[0].password")
    assert "secret" in p.message and "password_env" in p.fix
    assert "hunter2" not in str(p)


def test_plaintext_to_remote_host_refused(project):
    problems = problems_of(project, project.settings.read_text() + """
[[mailbox]]
name = "hr"
host = "imap.example.com"
port = 143
security = "none"
username = "hr@example.com"
password_env = "X"
""")
    assert [p.key for p in problems] == ["mailbox[0].security"]


def test_unknown_key_and_bad_timezone(project):
    text = project.settings.read_text().replace('timezone = "Asia/Shanghai"',
                                                'timezone = "Asia/Beijing"\ntimezon = "x"')
    keys = {p.key for p in problems_of(project, text)}
    assert keys == {"company.timezone", "company.timezon"}


def test_a_port_written_as_text_is_one_problem(project):
    """port = "993" is said once, as the wrong type, not again as out of range."""
    problems = problems_of(project, project.settings.read_text() + """
[[mailbox]]
name = "hr"
host = "imap.example.com"
port = "993"
username = "hr@example.com"
password_env = "X"
""")
    assert [(p.key, p.message) for p in problems if p.key.endswith("port")] == \
        [("mailbox[0].port", "must be a whole number, not '993'")]


def test_toml_syntax_error_names_file(project):
    problems = problems_of(project, "[company\nname=1")
    assert problems[0].file == str(project.settings) and problems[0].key == "(syntax)"


def test_rules_problems(project):
    daily = project.root / "rules" / "daily.toml"
    daily.write_text(daily.read_text().replace('time = "21:00"', 'time = "9pm"')
                     .replace('order = ["sender"', 'order = ["sendr"'), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_policy(project.root / "rules")
    keys = {p.key for p in err.value.problems}
    assert keys == {"deadline.time", "checks.order"}
    assert all(p.file == str(daily) for p in err.value.problems)


def test_check_config_command(project, monkeypatch):
    ok = project.cli("check-config")
    assert ok.code == 0, ok.out
    (project.root / "templates" / "bad.txt").write_text("{% if %}", encoding="utf-8")
    (project.root / "roster.csv").write_text(
        (project.root / "roster.csv").read_text() + "bad,,sales,,,,,maybe\n", encoding="utf-8")
    bad = project.cli("check-config")
    assert bad.code == 1
    assert "bad.txt: line 1" in bad.out
    assert "roster.csv: line 11, email" in bad.out
    assert "roster.csv: line 11, probation" in bad.out
    assert "fix:" in bad.out
    assert "Traceback" not in bad.out + bad.err


def test_missing_secret_env_is_reported(project, monkeypatch):
    project.add_mailbox("hr", 1143, "hr@example.com")
    monkeypatch.delenv("MAILFLOW_TEST_HR_PASSWORD", raising=False)
    res = project.cli("check-config")
    assert res.code == 1 and "MAILFLOW_TEST_HR_PASSWORD is not set" in res.out


def test_tls_opt_out_is_allowed_but_warned_about(project, monkeypatch):
    monkeypatch.setenv("MAILFLOW_TEST_HR_PASSWORD", "x")
    project.add_mailbox("hr", 993, "hr@example.com", security="ssl",
                        extra="verify_tls = false")
    res = project.cli("check-config")
    assert res.code == 0
    assert "warning:" in res.out and "verify_tls = false" in res.out
    assert "TLS certificates of 127.0.0.1 are not checked" in res.out


def test_smtp_connections_out_of_range_names_key_and_fix(project):
    problems = problems_of(project, project.settings.read_text() + """
[smtp]
host = "smtp.example.com"
port = 465
security = "ssl"
sender = "r@example.com"
connections = 40
""")
    p = next(p for p in problems if p.key.endswith("connections"))
    assert "40" in p.message and "1 to 16" in p.fix


def test_smtp_connections_default_and_value(project):
    base = project.settings.read_text() + """
[smtp]
host = "smtp.example.com"
port = 465
security = "ssl"
sender = "r@example.com"
"""
    project.settings.write_text(base, encoding="utf-8")
    assert load_settings(project.settings).smtp.connections == 1
    project.settings.write_text(base + "connections = 4\n", encoding="utf-8")
    assert load_settings(project.settings).smtp.connections == 4
