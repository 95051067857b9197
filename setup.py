# The project's metadata is in pyproject.toml; this file remains for
# buildout's ``develop`` option, which still calls setup.py.
from setuptools import setup


setup()
