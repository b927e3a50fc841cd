from .clahe_param_regressor import BoundedOutput, CLAHEParamRegressor
from .regressor_checkpoint import (
    REGRESSOR_PREFIX,
    build_regressor_from_checkpoint,
    enhancer_preprocessor_config,
    load_regressor_weights,
)
from .setting_policy import SettingPolicy, normalise_settings, setting_label

__all__ = [
    'REGRESSOR_PREFIX',
    'BoundedOutput',
    'CLAHEParamRegressor',
    'SettingPolicy',
    'build_regressor_from_checkpoint',
    'enhancer_preprocessor_config',
    'load_regressor_weights',
    'normalise_settings',
    'setting_label',
]
