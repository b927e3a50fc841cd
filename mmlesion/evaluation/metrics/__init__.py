"""Registered evaluation metrics (mmdet's ``METRICS`` registry)."""

from .deeplesion_metric import DeepLesionMetric

__all__ = ['DeepLesionMetric']
