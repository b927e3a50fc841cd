from . import checkpoint_loading  # noqa: F401  (registers the local checkpoint loader)
from .run_config import (
    default_work_dir,
    enable_fp16,
    load_config,
    prepare_test_config,
    prepare_train_config,
)
from .setup_env import register_all_modules

__all__ = [
    'default_work_dir',
    'enable_fp16',
    'load_config',
    'prepare_test_config',
    'prepare_train_config',
    'register_all_modules',
]
