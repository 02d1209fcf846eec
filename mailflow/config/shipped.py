"""Where the shipped rules/ and templates/ are, for `mailflow init` and `mailflow demo`.

The repository's top-level rules/ and templates/ are the copies people edit; the build
(setup.py) copies them into the package as mailflow/defaults/, so an installed wheel
carries them. An editable install from a checkout has no mailflow/defaults/ and reads the
checkout's folders instead. Nothing here writes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import UserError

NAMES = ("rules", "templates")
CHECKOUT = Path(__file__).resolve().parents[2]


def folder(name: str) -> Path:
    """The shipped folder `name` ("rules" or "templates") as a path on disk."""
    if name not in NAMES:
        raise ValueError(f"not a shipped folder: {name}")
    packaged = resources.files("mailflow") / "defaults" / name
    # A wheel installs as files; a zipped package would give no path to copy from or to
    # name in a settings file.
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    checkout = CHECKOUT / name
    if checkout.is_dir() and (CHECKOUT / "pyproject.toml").is_file():
        return checkout
    raise UserError(f"this installation of mailflow has no {name}/ (looked in {packaged} and "
                    f"{checkout}); reinstall it from a wheel or a checkout "
                    "(`pip install mailflow-….whl`, or `pip install -e .` in the checkout)")
