from setuptools import setup

# The version is computed: only running this file tells it.
with open("VERSION") as f:
    version = f.read().strip()

setup(name="ver-file", version=version, packages=["verfile"])
