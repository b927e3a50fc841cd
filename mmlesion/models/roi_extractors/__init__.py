from .registry_roi_extractor import RegistryRoIExtractor

__all__ = ['RegistryRoIExtractor']
