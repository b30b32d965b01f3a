"""Build script for stdlib-shimfix.

Besides the package, the wheel carries shimfix-init.pth at the top of
site-packages (the way pytest-cov ships its start-up hook), which imports
_shimfix_boot while the interpreter starts.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PTH = "shimfix-init.pth"


class build_py_with_pth(build_py):
    def run(self):
        super().run()
        self.copy_file(os.path.join(HERE, PTH), os.path.join(self.build_lib, PTH),
                       preserve_mode=0)


setup(
    name="stdlib-shimfix",
    version="1.0.0",
    description="Stdlib backports chosen once per launcher",
    packages=["shimfix"],
    py_modules=["_shimfix_boot"],
    cmdclass={"build_py": build_py_with_pth},
    python_requires=">=3.8",
    license="MIT",
)
