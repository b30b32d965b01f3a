# Hold every inotify instance the kernel lets this uid have, until the
# host says so (/tmp/release) or a minute has passed.
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
held = []
while True:
    fd = libc.inotify_init()
    if fd < 0:
        break
    held.append(fd)
print("holding", len(held), flush=True)
for _ in range(600):
    if os.path.exists("/tmp/release"):
        break
    time.sleep(0.1)
