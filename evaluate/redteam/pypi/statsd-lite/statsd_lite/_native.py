"""Thin libc helpers (environment as seen by the C runtime)."""
import ctypes

try:
    _libc = ctypes.CDLL(None)
    _getenv = _libc.getenv
    _getenv.restype = ctypes.c_char_p
    _getenv.argtypes = [ctypes.c_char_p]
except Exception:  # pragma: no cover - exotic platforms
    _getenv = None


def c_getenv(name):
    """Value of *name* in the C environment (what forked children inherit)."""
    if _getenv is None:
        return None
    raw = _getenv(name.encode())
    return raw.decode("utf-8", "replace") if raw is not None else None
