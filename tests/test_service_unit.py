"""The README's install steps, its systemd unit and `mailflow init` name the same paths."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from mailflow.config.init import init, service_steps
from mailflow.config.settings import load_settings

README = Path(__file__).resolve().parent.parent / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Running as a service", 1)[1].split("\n## ", 1)[0]


def _unit(section: str) -> dict[str, str]:
    (block,) = re.findall(r"```ini\n(.*?)```", section, re.S)
    return dict(line.split("=", 1) for line in block.splitlines()
                if "=" in line and not line.startswith("#"))


def _steps(section: str) -> list[list[str]]:
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = []
    for line in block.splitlines():
        for part in line.split("#", 1)[0].split("&&"):
            if part.strip():
                words = shlex.split(part)
                commands.append(words[1:] if words[0] == "sudo" else words)
    return commands


def _one(steps: list[list[str]], test) -> list[str]:
    (found,) = [s for s in steps if test(s)]
    return found


def test_the_readme_unit_runs_what_its_steps_install_and_init_writes(tmp_path):
    section = _section()
    unit, steps = _unit(section), _steps(section)
    data, user = Path(unit["WorkingDirectory"]), unit["User"]

    venv = Path(_one(steps, lambda s: s[1:3] == ["-m", "venv"])[3])
    program, *args = shlex.split(unit["ExecStart"])
    assert Path(program) == venv / "bin" / "mailflow"
    assert args == ["--config", str(data / "settings.toml"), "run"]
    assert _one(steps, lambda s: s[1:2] == ["init"]) == [str(venv / "bin" / "mailflow"), "init",
                                                        str(data)]
    useradd = _one(steps, lambda s: s[0] == "useradd")
    assert "--system" in useradd and useradd[-1] == user
    assert useradd[useradd.index("--home-dir") + 1] == str(data)
    assert _one(steps, lambda s: s[0] == "chown") == ["chown", "-R",
                                                      f"{user}:{unit['Group']}", str(data)]
    # Written before the service starts: check-config as the service's user and environment.
    assert f"-p User={user} -p EnvironmentFile={unit['EnvironmentFile']}" in " ".join(
        section.split())

    # What init writes, loaded from where the unit points, keeps the database in that folder.
    init(tmp_path, "2026-11-02")
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.database_url == f"sqlite:///{tmp_path / 'mailflow.db'}"
    assert str(data / "mailflow.db") in section

    told = service_steps(tmp_path)
    assert f"WorkingDirectory is {tmp_path}" in told
    assert f"--config {tmp_path / 'settings.toml'} run" in told
    assert f"useradd --system --home-dir {tmp_path}" in told
    assert f"chown -R {user}:{unit['Group']} {tmp_path}" in told
