"""Build hook: ship the sample workspace inside the package as ``copydesk/_sample/``.

The repository root *is* the sample workspace (the Quickstart runs the app on it),
so the files live there once and are copied into the built package here, where
``copydesk init`` finds them with ``importlib.resources``. ``MANIFEST.in`` carries
the same files into an sdist, so a wheel built from the sdist has them too.
Everything else is declared in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

#: What the sample workspace consists of; keep in step with MANIFEST.in and
#: ``copydesk.scaffold.SCAFFOLD_DIRS`` (tests/test_wheel.py checks both).
SAMPLE_DIRS = ("prompts", "guardrails", "templates", "briefs", "campaigns", "audiences")
SAMPLE_FILES = ("copydesk.yaml", "store/.gitignore")
SAMPLE_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-*")


class BuildPyWithSample(build_py):
    """``build_py`` that also copies the sample workspace into the built package."""

    def run(self) -> None:
        super().run()
        # An editable install imports the checkout itself, which has the sample at its root.
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "copydesk" / "_sample"
        shutil.rmtree(target, ignore_errors=True)
        for name in SAMPLE_DIRS:
            shutil.copytree(ROOT / name, target / name, ignore=SAMPLE_IGNORE)
        for name in SAMPLE_FILES:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, target / name)


setup(cmdclass={"build_py": BuildPyWithSample})
