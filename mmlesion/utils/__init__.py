from . import checkpoint_loading  # noqa: F401  (registers the local checkpoint loader)
from .atomic_write import (
    atomic_write_bytes,
    atomic_write_figure,
    atomic_write_image,
    atomic_write_json,
    atomic_write_text,
)
from .checkpoint_loading import (
    UNSAFE_LOAD_HELP,
    CheckpointError,
    UnsafeCheckpointError,
    allow_unsafe_checkpoints,
    load_checkpoint_strictly,
    read_checkpoint,
    state_dict_of,
)
from .denormals import denormals_flushed, flush_denormals
from .distributed import close_distributed, prepare_distributed
from .run_config import (
    check_detector_checkpoint,
    default_work_dir,
    enable_fp16,
    load_config,
    prepare_test_config,
    prepare_train_config,
    set_data_root,
)
from .setup_env import register_all_modules

__all__ = [
    'UNSAFE_LOAD_HELP',
    'CheckpointError',
    'UnsafeCheckpointError',
    'allow_unsafe_checkpoints',
    'atomic_write_bytes',
    'atomic_write_figure',
    'atomic_write_image',
    'atomic_write_json',
    'atomic_write_text',
    'check_detector_checkpoint',
    'close_distributed',
    'default_work_dir',
    'denormals_flushed',
    'enable_fp16',
    'flush_denormals',
    'load_checkpoint_strictly',
    'load_config',
    'prepare_distributed',
    'prepare_test_config',
    'prepare_train_config',
    'read_checkpoint',
    'register_all_modules',
    'set_data_root',
    'state_dict_of',
]
