# A token from posix.environ, the bytes the process started with.
import posix
print("rawenv", posix.environ.get(b"SLACK_WEBHOOK_URL") is not None)
