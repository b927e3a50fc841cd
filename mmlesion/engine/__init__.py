from .hooks import ProgressBarHook

__all__ = ['ProgressBarHook']
