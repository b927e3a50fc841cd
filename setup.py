"""mmlesion: learned, image-specific contrast enhancement in front of a frozen lesion detector."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def native_extensions() -> dict:
    """The fused CPU GLCAE kernel (``mmlesion.enhancement._glcae_native``), when torch is present.

    Optional: without torch at build time or without a C++ compiler the package installs without
    it and ``glcae`` uses its torch ops on every device (``mmlesion.enhancement.native``).
    """
    try:
        from torch.utils.cpp_extension import BuildExtension, CppExtension
    except ImportError:
        return {}

    class BuildOptionalExtension(BuildExtension):
        # setuptools' `optional` is not honoured by BuildExtension: a compile error would fail
        # the whole installation instead of leaving the torch ops in charge.
        def build_extension(self, ext) -> None:
            try:
                super().build_extension(ext)
            except Exception as error:  # any compiler or linker failure
                if not getattr(ext, 'optional', False):
                    raise
                print(f'WARNING: {ext.name} not built ({error}); glcae uses its torch ops')

    extension = CppExtension(
        'mmlesion.enhancement._glcae_native',
        ['mmlesion/enhancement/csrc/glcae_cpu.cpp'],
        # -ffp-contract=off: no fused multiply-adds, so float results follow the torch ops'
        # rounding; -fopenmp: at::parallel_for spreads the images over torch's threads.
        extra_compile_args=['-O3', '-ffp-contract=off', '-fopenmp'],
        extra_link_args=['-fopenmp'],
        optional=True,
    )
    return {'ext_modules': [extension], 'cmdclass': {'build_ext': BuildOptionalExtension}}


def read_requirement(name: str) -> list[str]:
    """The requirement lines of ``requirements/<name>.txt`` (comments and blanks dropped)."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith('#')]


def read_version() -> str:
    text = (HERE / 'mmlesion' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


# Ranges, not pins: a CUDA user keeps the torch build they installed. requirements/*.txt hold the
# exact stack that `make venv` (CPU) and `make venv-cuda` install and CI tests.
INSTALL_REQUIRES = [
    'torch>=2.0',
    'numpy>=1.23,<2',
    'opencv-python>=4.5',
    'mmengine>=0.10,<0.11',
    'mmcv>=2.0.0rc4,<2.2.0',
    'mmdet>=3.3,<3.4',
    'pycocotools>=2.0.6',
    'matplotlib>=3.5',
    'tqdm>=4.60',
    'pydicom>=2.4',
    'nibabel>=5.0',
]


setup(
    name='mmlesion',
    version=read_version(),
    description='OpenMMLab-style lesion detection in CT with learned contrast enhancement',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['mmlesion', 'mmlesion.*']),
    install_requires=INSTALL_REQUIRES,
    # ImageNet weights of the paper configs (torchvision://): the torchvision of the pinned torch.
    extras_require={'imagenet': read_requirement('optional')},
    license='Apache-2.0',
    **native_extensions(),
)
