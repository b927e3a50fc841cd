"""Registering mmlesion's components, as ``mmdet.utils.register_all_modules`` does for mmdet."""

from __future__ import annotations


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import mmdet's and mmlesion's modules so every component is in the registries.

    Args:
        init_default_scope: also make ``mmdet`` the default registry scope (what a config's
            ``default_scope = 'mmdet'`` does), so ``dict(type='DeepLesionDataset')`` builds
            without a scope prefix outside a Runner.
    """
    from mmdet.utils import register_all_modules as register_mmdet

    import mmlesion.datasets
    import mmlesion.engine
    import mmlesion.evaluation
    import mmlesion.models  # noqa: F401

    register_mmdet(init_default_scope=init_default_scope)
