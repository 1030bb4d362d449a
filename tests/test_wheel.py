"""The package installs anywhere: a wheel built from this tree, installed in a fresh venv
that cannot see the checkout, scaffolds a working workspace with ``copydesk init``; an
sdist carries the sample workspace too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from copydesk.scaffold import SCAFFOLD_DIRS

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

#: Top-level entries of the checkout that are not source (and are large or shared).
_NOT_SOURCE = {".git", ".venv", "build", "dist", "test-artifacts"}
_ANYWHERE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "*.db", "*.db-*"
)


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = set(_ANYWHERE(folder, names))
    if Path(folder) == REPO:
        skipped |= _NOT_SOURCE & set(names)
    return skipped


def _sample_files(root: Path) -> set[str]:
    """The sample workspace's files under ``root``, as the scaffold copies them."""
    found = {"copydesk.yaml", "store/.gitignore"}
    for name in SCAFFOLD_DIRS:
        found |= {p.relative_to(root).as_posix() for p in (root / name).rglob("*") if p.is_file()}
    return found


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPYDESK_", "PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONNOUSERSITE"] = "1"
    env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    return env


def _run(cmd: list[str | Path], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=_clean_env(), input=stdin, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree: pip builds in-tree (build/, *.egg-info), which must not
    touch the shared checkout."""
    src = tmp_path_factory.mktemp("src") / "copydesk"
    shutil.copytree(REPO, src, ignore=_ignore)
    return src


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    r = _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--disable-pip-version-check", "-w", out], source)
    assert r.returncode == 0, r.stdout + r.stderr
    (built,) = out.glob("copydesk-*.whl")
    return built


@dataclass(frozen=True)
class Installed:
    bin: Path
    site_packages: Path
    outside: Path  # a working folder outside the checkout


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh venv with the wheel installed. The dependencies come from the test venv
    through a path line in a .pth file: a path line adds the folder to sys.path without
    running that folder's own .pth files, so the editable install's finder stays off."""
    home = tmp_path_factory.mktemp("fresh")
    env_dir = home / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    r = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], home)
    site_packages = Path(r.stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "zz_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    r = _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", wheel], home)
    assert r.returncode == 0, r.stdout + r.stderr
    outside = home / "work"
    outside.mkdir()
    return Installed(env_dir / "bin", site_packages, outside)


def test_the_wheel_carries_exactly_the_sample_workspace(wheel: Path, source: Path) -> None:
    prefix = "copydesk/_sample/"
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n.removeprefix(prefix) for n in zf.namelist() if n.startswith(prefix) and not n.endswith("/")}
    assert shipped == _sample_files(source)


def test_the_sdist_carries_the_sample_workspace(source: Path, tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    code = f"from setuptools import build_meta; print(build_meta.build_sdist({str(tmp_path)!r}))"
    r = _run([sys.executable, "-c", code], source)
    assert r.returncode == 0, r.stdout + r.stderr
    sdist = tmp_path / r.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split("/")[0]
        names = {n.removeprefix(f"{top}/") for n in tf.getnames()}
    assert _sample_files(source) <= names
    assert "setup.py" in names
    assert not [n for n in names if n.endswith(".db")]


def test_the_fresh_venv_imports_the_wheel_not_the_checkout(installed: Installed) -> None:
    code = (
        "import sys, copydesk, copydesk.scaffold as s; "
        "print(copydesk.__file__); print(s.sample_root()); "
        "print(sorted(m for m in sys.modules if 'editable' in m))"
    )
    r = _run([installed.bin / "python", "-c", code], installed.outside)
    assert r.returncode == 0, r.stderr
    module_file, sample, editable = r.stdout.strip().splitlines()
    assert Path(module_file) == installed.site_packages / "copydesk" / "__init__.py"
    assert Path(sample) == installed.site_packages / "copydesk" / "_sample"
    assert editable == "[]"


def test_init_from_the_wheel_makes_a_working_workspace(installed: Installed) -> None:
    copydesk = installed.bin / "copydesk"
    target = installed.outside / "acme"
    r = _run([copydesk, "init", target, "--brand", "Acme"], installed.outside)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _sample_files(target) == _sample_files(REPO)
    for name in sorted(_sample_files(REPO) - {"copydesk.yaml"}):
        assert (target / name).read_bytes() == (REPO / name).read_bytes(), name
    assert "brand: Acme" in (target / "copydesk.yaml").read_text(encoding="utf-8")

    ws = ["--workspace", target]
    r = _run([copydesk, *ws, "policy", "test"], installed.outside)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rules passed their tests" in r.stdout and "FAIL" not in r.stdout
    r = _run([copydesk, *ws, "user", "add", "admin", "--role", "admin", "--password-stdin"], installed.outside,
             stdin="correct horse battery\n")
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run([copydesk, *ws, "user", "add", "ana", "--role", "copywriter", "--as", "admin", "--password-stdin"],
             installed.outside, stdin="correct horse battery\n")
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run([copydesk, *ws, "brief", "add", target / "briefs" / "boots-onboarding.yaml", "--as", "ana"],
             installed.outside)
    assert r.returncode == 0 and "boots-onboarding" in r.stdout, r.stdout + r.stderr
    assert (target / "store" / "library.db").is_file()
