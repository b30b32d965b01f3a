from setuptools import setup

ns = {}
with open("verexec/version.py") as f:
    exec(f.read(), ns)

setup(name="ver-exec", version=ns["__version__"], packages=["verexec"])
