"""Build of the optional compiled kernels (:mod:`sod._native`, sources in src/sod/csrc/);
everything else is in pyproject.toml. The extension is optional: without a C compiler the
install goes on and the numpy twins of its kernels run instead (same results, slower)."""

from pathlib import Path

from setuptools import Extension, setup

sources = sorted(str(p) for p in Path("src/sod/csrc").glob("*.c"))
setup(
    ext_modules=[
        Extension(
            "sod._native",
            sources,
            depends=["src/sod/csrc/kernels.h"],
            optional=True,
            extra_compile_args=["-O3"],
        )
    ]
)
