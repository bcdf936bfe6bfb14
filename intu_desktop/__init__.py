"""intu Desktop: a DICOM receiver that runs intu channels on a workstation."""

__version__ = "0.1.0"
