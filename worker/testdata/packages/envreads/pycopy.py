# A child's environment made from a whole copy: not a read of a token.
import os
import subprocess
subprocess.run(["true"], env=dict(os.environ, LC_ALL="C"), check=True)
