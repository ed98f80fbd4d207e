"""ADaM derivations: pure functions, SDTM (and earlier ADaM) in, ADaM out."""

from mpmlib.derive.adae import derive_adae
from mpmlib.derive.adex import derive_adex
from mpmlib.derive.adqs import derive_adqs
from mpmlib.derive.adrs import derive_adrs
from mpmlib.derive.adsl import derive_adsl
from mpmlib.derive.adtr import derive_adtr
from mpmlib.derive.adtte import derive_adtte

__all__ = ["derive_adae", "derive_adex", "derive_adqs", "derive_adrs", "derive_adsl", "derive_adtr", "derive_adtte"]
