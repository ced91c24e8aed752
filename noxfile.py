"""Development sessions for the Jelly monorepo.

    nox -s tests            # every lib, each alone in its own venv (what CI runs)
    nox -s "tests(core)"    # one lib alone, with only its declared dependencies
    nox -s suite            # the whole suite in one venv with every lib (fast dev loop)
    nox -s lint             # ruff
    nox -s demo             # the headline training on the embedded digits
    nox -s bench            # pytest-benchmark micro-benchmarks (timed)
    nox -s gpu              # bench/gpu_check.py on a GPU machine (parity table, timing)
    nox -s gpu_toolchain    # the GPU machine's Triton 3.6 / CUDA 13 NVRTC, checked on CPU

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


def _libs_in_dependency_order() -> list[str]:
    """Every lib, each after the siblings it depends on.

    pip 23.2 (what a fresh venv gets here) fails to resolve ``-e libs/examples`` when it
    comes before ``-e libs/neurons`` in one command ("No matching distribution found for
    jelly-neurons"); listing dependencies first avoids it.
    """
    ordered: list[str] = []
    for lib in _lib_names():
        for dep in _jelly_deps(lib) + [lib]:
            if dep not in ordered:
                ordered.append(dep)
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


def _install_libs(
    session: nox.Session, libs: list[str], editable: bool = False, test_extras: tuple[str, ...] | None = None
) -> None:
    """Install ``libs`` from their folders; ``test_extras`` (default: all of them) get ``[test]``."""
    args = ["-c", CONSTRAINTS, "--no-build-isolation"]
    for lib in libs:
        with_test = test_extras is None or lib in test_extras
        target = f"{LIBS / lib}{_test_extras(lib) if with_test else ''}"
        args += ["-e", target] if editable else [target]
    session.install(*args)


@nox.session
@nox.parametrize("lib", _lib_names(), ids=_lib_names())
def tests(session: nox.Session, lib: str) -> None:
    """Run one lib's tests in a venv holding only it and its declared dependencies."""
    _install_base(session)
    _install_libs(session, _jelly_deps(lib) + [lib], test_extras=(lib,))
    session.run("python", "-m", "pytest", str(LIBS / lib / "tests"), "-q", *session.posargs)


@nox.session
def suite(session: nox.Session) -> None:
    """Run the whole suite with every lib installed (editable) in one venv."""
    _install_base(session)
    _install_libs(session, _libs_in_dependency_order(), editable=True)
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
    _install_libs(session, _jelly_deps("examples") + ["examples"], editable=True, test_extras=())
    args = session.posargs or ["-T", "20", "-epochs", "10", "-lr", "1e-2", "-b", "64", "-out-dir", "runs/demo"]
    session.run("python", "-m", "jelly.examples.lif_fc_mnist", *args)


@nox.session(venv_backend="none")
def gpu(session: nox.Session) -> None:
    """GPU check (bench/gpu_check.py): backend parity table, then LIF timing, in the current environment.

    Uses the interpreter nox runs under (nothing is installed; the libs come from libs/*/src),
    so it works offline on a GPU machine: ``nox -s gpu`` or ``nox -s gpu -- --quick``.
    """
    session.run("python", str(ROOT / "bench" / "gpu_check.py"), *session.posargs, external=True)


GPU_MACHINE_TOOLCHAIN = [
    "triton==3.6.0",
    "numpy<2.3",  # Triton 3.6's interpreter calls int() on 1-element arrays, an error from NumPy 2.3
    "cupy-cuda13x==14.2.0",
    "nvidia-cuda-nvrtc>=13,<14",
    "nvidia-cuda-runtime>=13,<14",
    "pytest>=7",
]


@nox.session
def gpu_toolchain(session: nox.Session) -> None:
    """The GPU machine's Triton and CUDA major version, checked on CPU (~7 min on 2 cores).

    The H200 machine has Triton 3.6 and cupy-cuda13x 14.2 (CUDA 13) where CI tests with the
    newest Triton and CUDA 12's NVRTC. This installs that toolchain beside torch 2.13.0 and
    runs the Triton kernels' tests under Triton 3.6's interpreter, compiles every Triton
    variant for sm_90 with Triton 3.6, and every CuPy variant with NVRTC 13. Needs the
    package index (not run by CI).
    """
    _install_base(session)
    _install_libs(session, ["core", "surrogates", "neurons"], test_extras=())
    session.install("-c", CONSTRAINTS, *GPU_MACHINE_TOOLCHAIN)
    tests = LIBS / "neurons" / "tests"
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",
                *(str(f) for f in sorted(tests.glob("test_triton_*.py"))), str(tests / "test_cupy_sources.py"))
    session.run("python", str(tests / "triton_sm90_compile.py"))
    session.run("python", str(ROOT / "bench" / "gpu_check.py"), "--cpu", "--compile-only")


# -- benchmarks (bench/): asv across commits, the dashboard, pytest-benchmark ------------------
BENCH = ROOT / "bench"
ASV_CONF = str(BENCH / "asv.conf.json")
ASV_EXISTING_CONF = str(BENCH / "asv.existing.json")
ASV_REGRESSION_FACTOR = "1.5"


def _asv_tools(session: nox.Session) -> None:
    """asv, virtualenv and pytest-benchmark into the session; register this machine once."""
    session.install("-c", CONSTRAINTS, "-r", str(BENCH / "requirements.txt"))
    if not (Path.home() / ".asv-machine.json").exists():
        session.run("asv", "machine", "--yes", "--config", ASV_CONF)


def _split_asv_args(posargs: list[str]) -> tuple[list[str], list[str], dict[str, str | bool]]:
    """``(commit specs, other asv flags, our options)`` from the session's arguments.

    Our options: ``--existing`` and ``--last N`` (``asv`` session), ``--factor F``
    (``asv_compare``). Arguments before the first flag are commit specs.
    """
    specs: list[str] = []
    rest: list[str] = []
    ours: dict[str, str | bool] = {}
    args = list(posargs)
    while args:
        arg = args.pop(0)
        if arg == "--existing":
            ours["existing"] = True
        elif arg in ("--last", "--factor") and args:
            ours[arg[2:]] = args.pop(0)
        elif arg.startswith("-") or rest:
            rest.append(arg)
        else:
            specs.append(arg)
    return specs, rest, ours


def _asv_commit_spec(session: nox.Session, spec: str | None, last: str | None) -> str:
    """asv's commit selection: ``--last N`` → a hash file; ``A..B`` as is; one commit → ``C^!``."""
    if last is not None:
        hashes = session.run("git", "rev-list", f"--max-count={int(last)}", "HEAD", external=True, silent=True)
        hashfile = Path(session.create_tmp()).resolve() / "asv_commits.txt"  # absolute: asv chdirs to bench/
        hashfile.write_text(hashes)
        return f"HASHFILE:{hashfile}"
    spec = spec or "HEAD"
    if ".." in spec or spec.endswith("^!") or spec in ("ALL", "NEW", "EXISTING") or spec.startswith("HASHFILE:"):
        return spec
    return f"{spec}^!"


@nox.session
def asv(session: nox.Session) -> None:
    """asv benchmarks (speed, memory, accuracy) of commits, each installed in asv's own virtualenv.

        nox -s asv                              # the current commit (HEAD)
        nox -s asv -- HEAD~3..HEAD              # a git range (the 3 commits after HEAD~3)
        nox -s asv -- --last 3                  # the newest 3 commits (works down to the root)
        nox -s asv -- --existing                # quick: this checkout in the session's venv
        nox -s asv -- HEAD -b neurons --quick   # further flags go to `asv run`

    MNIST for the accuracy benchmarks: ``JELLY_MNIST_DIR`` or ``../shared/data/mnist``.
    Results go to bench/results/ (git-ignored); ``nox -s dashboard`` publishes them.
    """
    _asv_tools(session)
    specs, rest, ours = _split_asv_args(session.posargs)
    if ours.get("existing"):
        _install_base(session)
        _install_libs(session, _libs_in_dependency_order(), editable=True)
        head = session.run("git", "rev-parse", "HEAD", external=True, silent=True).strip()
        session.run("asv", "run", "--config", ASV_EXISTING_CONF, "--set-commit-hash", head, *rest)
        return
    spec = _asv_commit_spec(session, specs[0] if specs else None, ours.get("last"))
    session.run("asv", "run", "--config", ASV_CONF, spec, *rest)


@nox.session
def asv_compare(session: nox.Session) -> None:
    """Benchmark a base and a head commit; fail if a benchmark got worse by more than a factor.

        nox -s asv_compare                                  # HEAD~1 (base) vs HEAD
        nox -s asv_compare -- main HEAD                     # any two commits
        nox -s asv_compare -- HEAD~1 HEAD --factor 1.2 -b neurons

    Threshold: ``--factor`` (default 1.5): a time, peak memory or error rate more than 1.5x
    the base's, and statistically significant, is a regression (`asv continuous` exits 1).
    The two commits' rounds are interleaved, 4 rounds each (``-a rounds=N`` overrides): on
    a shared 2-core machine, measuring base then head let load bursts fake 1.5-2.8x
    "regressions" between identical commits; interleaved, they cancel out.
    """
    _asv_tools(session)
    specs, rest, ours = _split_asv_args(session.posargs)
    base = specs[0] if specs else "HEAD~1"
    head = specs[1] if len(specs) > 1 else "HEAD"
    factor = str(ours.get("factor", ASV_REGRESSION_FACTOR))
    robust = [] if any(a.startswith("rounds=") for a in rest) else ["-a", "rounds=4"]
    if "--no-interleave-rounds" not in rest:
        robust.append("--interleave-rounds")
    try:
        session.run("asv", "continuous", "--config", ASV_CONF, "--factor", factor, "--split", *robust, base, head,
                    *rest)
    except nox.command.CommandFailed:
        session.error(f"asv_compare: {head} is slower, bigger or less accurate than {base} by more than "
                      f"a factor {factor} in the benchmarks listed above")


@nox.session
def dashboard(session: nox.Session) -> None:
    """Publish bench/results as a static site, bench/html/index.html (opens from disk), and check it."""
    _asv_tools(session)
    session.run("asv", "publish", "--config", ASV_CONF)
    session.run("python", str(BENCH / "dashboard_tools.py"), "embed", str(BENCH / "html"))
    session.run("python", str(BENCH / "dashboard_tools.py"), "check", str(BENCH), "--latest", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """pytest-benchmark micro-benchmarks (bench/micro), timed; ``-- --benchmark-disable`` smoke-runs them."""
    _install_base(session)
    _install_libs(session, _libs_in_dependency_order(), editable=True)
    session.install("-c", CONSTRAINTS, "pytest-benchmark")
    session.run("python", "-m", "pytest", str(BENCH / "micro"), "-p", "no:cacheprovider",
                "--benchmark-sort=fullname", "--benchmark-columns=min,median,mean,stddev,rounds", *session.posargs)


@nox.session
def bench_smoke(session: nox.Session) -> None:
    """The micro-benchmarks as quick correctness tests (timing disabled); part of the CI run."""
    _install_base(session)
    _install_libs(session, _libs_in_dependency_order(), test_extras=())
    session.install("-c", CONSTRAINTS, "pytest-benchmark")
    session.run("python", "-m", "pytest", str(BENCH / "micro"), "-q", "-p", "no:cacheprovider",
                "--benchmark-disable", *session.posargs)
