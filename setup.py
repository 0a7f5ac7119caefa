"""Package discovery only: services/ is installed as the `puhui` package (see pyproject.toml)."""

from setuptools import find_packages, setup

setup(packages=["puhui", *(f"puhui.{name}" for name in find_packages("services"))])
