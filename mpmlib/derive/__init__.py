"""ADaM derivations: pure functions, SDTM (and earlier ADaM) in, ADaM out."""

from .adae import derive_adae
from .adex import derive_adex
from .adqs import derive_adqs
from .adrs import derive_adrs
from .adsl import derive_adsl
from .adtr import derive_adtr
from .adtte import derive_adtte

__all__ = ["derive_adae", "derive_adex", "derive_adqs", "derive_adrs", "derive_adsl", "derive_adtr", "derive_adtte"]
