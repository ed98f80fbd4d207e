"""ADaM derivations: pure functions, SDTM (and earlier ADaM) in, ADaM out."""

from .adex import derive_adex
from .adsl import derive_adsl

__all__ = ["derive_adex", "derive_adsl"]
