from .expected_setting_loss import expected_setting_loss

__all__ = ['expected_setting_loss']
