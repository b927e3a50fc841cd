"""mmlesion: lesion detection in CT with learned, image-specific contrast enhancement.

Importing the package registers every component (datasets, transforms, models, metrics, hooks)
in mmdet's registries, so configs use ``default_scope = 'mmdet'`` and
``custom_imports = dict(imports=['mmlesion'])`` as in any mmdet project.
"""

from . import datasets, engine, evaluation, models, utils  # noqa: F401  (registration)
from .version import __version__

__all__ = ['__version__']
