from .clahe_param_regressor import BoundedOutput, CLAHEParamRegressor

__all__ = ['BoundedOutput', 'CLAHEParamRegressor']
