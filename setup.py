"""Builds the C extension of the Connect Four solver; the project's metadata lives in pyproject.toml.

pip install -e .                        # builds it as part of the install
python setup.py build_ext --inplace     # builds agents/_connect4_solver*.so in a source tree (a worktree)
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("agents._connect4_solver", ["agents/_connect4_solver.c"], extra_compile_args=["-O3"]),
    ]
)
