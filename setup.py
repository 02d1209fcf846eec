"""The build step that puts the repository's rules/ and templates/ into the package.

The top-level rules/ and templates/ stay the one copy people edit; every wheel carries
them as mailflow/defaults/ (read by mailflow/shipped.py). Everything else about the
package is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("rules", "templates")


class BuildWithDefaults(build_py):
    def run(self):
        super().run()
        # An editable install reads the checkout's folders directly: no copy to go stale.
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "mailflow" / "defaults"
        shutil.rmtree(target, ignore_errors=True)
        for name in SHIPPED:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"cannot build mailflow: {source} is missing")
            shutil.copytree(source, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildWithDefaults})
