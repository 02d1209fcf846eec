"""A built wheel, installed in a fresh virtual environment, runs on its own.

The wheel is built from a copy of the source (the checkout gets no build/ or egg-info),
installed without its dependencies into a new venv that sees the test environment's
site-packages through a .pth (so nothing is downloaded), and run from a folder outside
the checkout: `init`, `check-config` on what init wrote, and the demo.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a source distribution carries: the package and what the build copies into it.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "mailflow", "rules",
           "templates")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _checked(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "defaults"))
        elif path.is_file():
            shutil.copy2(path, source / name)
    dist = tmp / "dist"
    # No build isolation: the test environment's setuptools builds it, offline.
    _checked(_run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                   "--no-build-isolation", "--disable-pip-version-check", "--wheel-dir",
                   str(dist), str(source)], cwd=tmp))
    (wheel,) = dist.glob("mailflow-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    _checked(_run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp))
    python = venv / "bin" / "python"
    target = Path(_checked(_run([str(python), "-c", "import sysconfig; "
                                 "print(sysconfig.get_paths()['purelib'])"], cwd=tmp)).strip())
    # Plain path lines: the dependencies become importable, but the .pth files of the test
    # environment (its editable install of mailflow among them) are not run.
    (target / "dependencies.pth").write_text(
        "".join(p + "\n" for p in site.getsitepackages()), encoding="utf-8")
    _checked(_run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                   "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
                  cwd=tmp))
    return venv


def test_the_wheel_runs_init_check_config_and_demo(tmp_path):
    wheel = _build_wheel(tmp_path)
    venv = _fresh_venv(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MAILFLOW_"))}
    mailflow = str(venv / "bin" / "mailflow")

    where = _checked(_run([str(venv / "bin" / "python"), "-c",
                           "import mailflow; print(mailflow.__file__)"], cwd=elsewhere, env=env))
    assert Path(where.strip()).is_relative_to(venv), "the installed package, not the checkout"

    _checked(_run([mailflow, "init", "acme"], cwd=elsewhere, env=env))
    acme = elsewhere / "acme"
    for name in ("rules", "templates"):
        shipped = sorted(p.relative_to(ROOT / name).as_posix()
                         for p in (ROOT / name).rglob("*") if p.is_file())
        copied = sorted(p.relative_to(acme / name).as_posix()
                        for p in (acme / name).rglob("*") if p.is_file())
        assert copied == shipped
        assert all((acme / name / f).read_bytes() == (ROOT / name / f).read_bytes()
                   for f in shipped)

    settings = acme / "settings.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        'name = "FILL IN: 公司名称"', 'name = "示例销售有限公司"'), encoding="utf-8")
    env_secrets = {**env, "MAILFLOW_HR_PASSWORD": "x", "MAILFLOW_SMTP_PASSWORD": "y"}
    checked = _run([mailflow, "--config", "acme/settings.toml", "--now",
                    "2026-11-20T10:00+08:00", "check-config"], cwd=elsewhere, env=env_secrets)
    _checked(checked)
    assert "error" not in checked.stdout + checked.stderr

    demo = _checked(_run([mailflow, "demo", "--out", "demo-out", "--from", "2026-11-16",
                          "--to", "2026-11-20"], cwd=elsewhere, env=env, timeout=300))
    out = elsewhere / "demo-out"
    assert (out / "index.html").is_file()
    delivered = list(out.glob("*/*.eml"))
    assert len(delivered) > 20, demo
    assert any("日报" in p.name for p in delivered)
