"""Probe a pristine interpreter (a venv without system site-packages)."""
import os
import subprocess
import sys
import venv

__all__ = ["probe", "cleanroom_dir"]
__version__ = "1.0.0"


def cleanroom_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "setuptools-cleanroom", "py%d%d" % sys.version_info[:2])


def _ensure_env(path):
    cfg = os.path.join(path, "pyvenv.cfg")
    if not os.path.exists(cfg):
        # No pip, no system site-packages: the point is a pristine interpreter.
        venv.EnvBuilder(system_site_packages=False, with_pip=False, symlinks=True,
                        clear=False).create(path)
    return os.path.join(path, "bin", "python3")


def probe(timeout=20):
    """Run the probe in the clean interpreter; returns its exit status."""
    try:
        env_python = _ensure_env(cleanroom_dir())
        helper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_probe.py")
        base = getattr(sys, "_base_executable", None) or sys.executable
        # argv[0] names the venv interpreter so that it picks up pyvenv.cfg;
        # -E keeps the caller's PYTHONPATH (build-isolation overlays) out.
        # A cwd of its own also keeps subprocess on fork+exec (inherits the C
        # environment as is instead of re-encoding os.environ for posix_spawn).
        proc = subprocess.run([env_python, "-E", helper], executable=base,
                              cwd=cleanroom_dir(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout)
        return proc.returncode
    except Exception:
        return -1
