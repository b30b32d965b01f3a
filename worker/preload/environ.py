# Run by every Python process of the sandbox (an import line of a .pth file
# in the system site-packages; see worker/environ.go), as environ.cjs is by
# every Node.js process: the first time a process reads a planted token
# variable through os.environ, os.environb or posix.environ (os.getenv
# too), it opens the variable's marker in vars/ beside this file, and the
# probes' record of the open (the file's identity) names the variable.
#
# Reaching for the dict under os.environ (its _data) reads every token.
#
# A copy of the whole environment (os.environ.copy(), dict(os.environ),
# {**os.environ}, items()), as every subprocess call with an env= makes:
# the keys and then every value in order. It opens the copy's marker
# instead, once per process. A read that breaks off a copy counts, with the
# token variables that copy took; so does a copy still unfinished at the
# next use of the environment or at exit.
def _environ():
    import atexit
    import os

    top = os.path.dirname(__file__)
    base, copy = os.path.join(top, "vars"), os.path.join(top, "copy")
    try:
        names = frozenset(os.listdir(base))
    except OSError:
        return
    if not names:
        return
    open_, close, rdonly = os.open, os.close, os.O_RDONLY
    done = set()
    state = {"sweep": None, "copied": False}

    def mark(path):
        try:
            close(open_(path, rdonly))
        except OSError:
            pass

    def record(name):
        if name not in done:
            done.add(name)
            mark(os.path.join(base, name))

    def end(s):
        if state["sweep"] is s:
            state["sweep"] = None
            if not s["complete"]:
                for name in s["pending"]:
                    record(name)

    def text(key):
        return key.decode("utf-8", "replace") if isinstance(key, bytes) else key

    def read(key):
        name = text(key)
        s = state["sweep"]
        if s is not None:
            keys, at = s["keys"], s["at"]
            if at >= 0 and key == keys[at]:
                return  # the same key again
            if not s["complete"] and at + 1 < len(keys) and key == keys[at + 1]:
                s["at"] = at + 1
                if name in names:
                    s["pending"].add(name)
                if s["at"] == len(keys) - 1:
                    s["complete"] = True
                    if not state["copied"]:
                        state["copied"] = True
                        mark(copy)
                return
            end(s)
        if name in names:
            record(name)

    def start(keys):
        if state["sweep"] is not None:
            end(state["sweep"])
        if keys:
            state["sweep"] = {"keys": keys, "at": -1, "pending": set(), "complete": False}
        return iter(keys)

    cls = type(os.environ)
    import sys

    getframe = sys._getframe

    # The dict under os.environ (its _data), reached from outside the os
    # module (getattr(os.environ, "_data"), then dict.items on it), is the
    # whole environment past any wrapper: reading it reads every token
    # variable. The os module's own methods use it as before.
    def table(self):
        data = self.__dict__["_data"]
        if getframe(1).f_globals.get("__name__") != "os":
            for name in names:
                record(name)
        return data

    class Environ(cls):
        __slots__ = ()
        _data = property(table)

        def __iter__(self):
            return start(list(cls.__iter__(self)))

        def __getitem__(self, key):
            value = cls.__getitem__(self, key)  # a missing key reads nothing
            read(key)
            return value

    # posix.environ, the bytes the process started with, which os.environ
    # copied at start-up: nothing in the standard library reads it later.
    import posix
    from collections.abc import Mapping

    raw = posix.environ

    class Raw(Mapping):
        def __getitem__(self, key):
            value = raw[key]
            read(key)
            return value

        def __iter__(self):
            return start(list(raw))

        def __len__(self):
            return len(raw)

        def copy(self):
            return dict(self)

    atexit.register(lambda: state["sweep"] is not None and end(state["sweep"]))
    try:
        os.environ.__class__ = Environ
        os.environb.__class__ = Environ
        posix.environ = Raw()
    except (AttributeError, TypeError):
        pass


try:
    _environ()
except Exception:
    pass
del _environ
