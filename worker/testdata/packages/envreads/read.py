# One token by name, from Python.
import os
print("py", os.environ.get("AWS_ACCESS_KEY_ID") is not None)
