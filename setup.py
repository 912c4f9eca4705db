"""Build of the optional compiled kernels (:mod:`sod._native`); everything else is in
pyproject.toml. The extension is optional: without a C compiler the install goes on and
the numpy twins of its kernels run instead (same results, slower)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("sod._native", ["src/sod/_native.c"], optional=True, extra_compile_args=["-O3"])
    ]
)
