from .clahe_param_regressor import CLAHEParamRegressor
from .key_slice_regressor import BoundedOutput, KeySliceRegressor
from .regressor_checkpoint import (
    REGRESSOR_PREFIX,
    build_regressor_from_checkpoint,
    enhancer_preprocessor_config,
    load_regressor_weights,
)
from .setting_policy import SettingPolicy, normalise_settings, setting_label
from .window_denoise_regressor import WindowDenoiseRegressor

__all__ = [
    'REGRESSOR_PREFIX',
    'BoundedOutput',
    'CLAHEParamRegressor',
    'KeySliceRegressor',
    'SettingPolicy',
    'WindowDenoiseRegressor',
    'build_regressor_from_checkpoint',
    'enhancer_preprocessor_config',
    'load_regressor_weights',
    'normalise_settings',
    'setting_label',
]
