from .clahe_param_regressor import BoundedOutput, CLAHEParamRegressor
from .regressor_checkpoint import (
    REGRESSOR_PREFIX,
    build_regressor_from_checkpoint,
    enhancer_preprocessor_config,
    load_regressor_weights,
)

__all__ = [
    'REGRESSOR_PREFIX',
    'BoundedOutput',
    'CLAHEParamRegressor',
    'build_regressor_from_checkpoint',
    'enhancer_preprocessor_config',
    'load_regressor_weights',
]
