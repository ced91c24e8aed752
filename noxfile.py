"""Development sessions for the Jelly monorepo.

    nox -s tests            # every lib, each alone in its own venv (what CI runs)
    nox -s "tests(core)"    # one lib alone, with only its declared dependencies
    nox -s suite            # the whole suite in one venv with every lib (fast dev loop)
    nox -s lint             # ruff
    nox -s demo             # the headline training on the embedded digits
    nox -s bench            # pytest-benchmark micro-benchmarks (timed)

Installs are offline-friendly: torch is pinned by ``constraints.txt`` (the CPU wheel on
disk on these machines); siblings are installed from ``libs/`` (never from an index).
"""

from __future__ import annotations

import re
from pathlib import Path

import nox
import tomllib

ROOT = Path(__file__).parent
LIBS = ROOT / "libs"
CONSTRAINTS = str(ROOT / "constraints.txt")
BUILD_TOOLS = ["hatchling>=1.18", "editables"]

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]


def _lib_names() -> list[str]:
    return sorted(p.parent.name for p in LIBS.glob("*/pyproject.toml"))


def _jelly_deps(lib: str) -> list[str]:
    """Sibling libs ``lib`` depends on, transitively (in install order)."""
    data = tomllib.loads((LIBS / lib / "pyproject.toml").read_text())
    direct = []
    for req in data["project"].get("dependencies", []):
        match = re.match(r"jelly-([a-z0-9_]+)", req)
        if match:
            direct.append(match.group(1))
    ordered: list[str] = []
    for dep in direct:
        for sub in _jelly_deps(dep) + [dep]:
            if sub not in ordered:
                ordered.append(sub)
    return ordered


def _test_extras(lib: str) -> str:
    data = tomllib.loads((LIBS / lib / "pyproject.toml").read_text())
    extras = data["project"].get("optional-dependencies", {})
    return "[test]" if "test" in extras else ""


BASE_VENV = ROOT / ".nox" / "_shared_torch"
BASE_PACKAGES = ["torch==2.13.0", "numpy", "pytest", *BUILD_TOOLS]


def _shared_torch_site(session: nox.Session) -> str:
    """Site-packages of a venv holding only torch, numpy, pytest and the build tools.

    torch is ~900 MB to unpack; the per-lib venvs link to this one through a ``.pth``
    file instead of each installing it again (a venv costs ~5 s instead of ~80 s).
    Everything Jelly-specific is still installed into each lib's own venv.
    """
    py = BASE_VENV / "bin" / "python"
    stamp = BASE_VENV / ".complete"
    if not stamp.exists():
        session.run("python", "-m", "venv", "--clear", str(BASE_VENV), external=True)
        session.run(str(py), "-m", "pip", "install", "-q", "-c", CONSTRAINTS, *BASE_PACKAGES, external=True)
        stamp.write_text("ok\n")
    site = session.run(str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                       external=True, silent=True)
    return site.strip()


def _install_base(session: nox.Session) -> None:
    if session.venv_backend == "none":
        return
    site = _shared_torch_site(session)
    own = session.run("python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", silent=True)
    Path(own.strip(), "_jelly_shared_torch.pth").write_text(site + "\n")


def _install_libs(session: nox.Session, libs: list[str], editable: bool = False) -> None:
    args = ["-c", CONSTRAINTS, "--no-build-isolation"]
    for lib in libs:
        target = f"{LIBS / lib}{_test_extras(lib)}"
        args += ["-e", target] if editable else [target]
    session.install(*args)


@nox.session
@nox.parametrize("lib", _lib_names(), ids=_lib_names())
def tests(session: nox.Session, lib: str) -> None:
    """Run one lib's tests in a venv holding only it and its declared dependencies."""
    _install_base(session)
    _install_libs(session, _jelly_deps(lib) + [lib])
    session.run("python", "-m", "pytest", str(LIBS / lib / "tests"), "-q", *session.posargs)


@nox.session
def suite(session: nox.Session) -> None:
    """Run the whole suite with every lib installed (editable) in one venv."""
    _install_base(session)
    _install_libs(session, _lib_names(), editable=True)
    session.run("python", "-m", "pytest", "libs", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over every lib, bench/ and this file."""
    session.install("ruff")
    session.run("ruff", "check", "libs", "bench", "noxfile.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Train the headline LIF network on the embedded 8x8 digits (offline, ~1 min)."""
    _install_base(session)
    _install_libs(session, _jelly_deps("examples") + ["examples"], editable=True)
    args = session.posargs or ["-T", "20", "-epochs", "10", "-lr", "1e-2", "-b", "64", "-out-dir", "runs/demo"]
    session.run("python", "-m", "jelly.examples.lif_fc_mnist", *args)
