"""Builds the C extension of the Connect Four solver; the project's metadata lives in pyproject.toml.

pip install -e .                        # builds it as part of the install
python setup.py build_ext --inplace     # builds agents/_connect4_solver*.so and agents/_search_walk*.so in a source
                                        # tree

agents/_search_walk is optional at run time: without it the search walks its trees in numpy (agents/host_tree.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("agents._connect4_solver", ["agents/_connect4_solver.c"], extra_compile_args=["-O3"]),
        # no fused multiply-adds: float32 rounding as numpy's and torch's (the walks must agree visit for visit)
        Extension("agents._search_walk", ["agents/_search_walk.c"], extra_compile_args=["-O3", "-ffp-contract=off"]),
    ]
)
