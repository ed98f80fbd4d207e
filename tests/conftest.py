"""Shared test fixtures: the public CDISC data in ../shared/external and small SDTM builders.

Tests that need the external data are skipped, with the reason shown, when the folder is not
there (set MPM_EXTERNAL to its location).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from mpmlib.settings.load import PROJECT_ROOT, external_data_dir  # noqa: E402

EXTERNAL = external_data_dir()


def external(*parts: str) -> Path:
    """Path inside the external data folder; skip the test when it is absent."""
    path = EXTERNAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"external data not available: {path} (set MPM_EXTERNAL)")
    return path


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def pilot_sdtm():
    from mpmlib.sdtm.read import read_sdtm

    return read_sdtm(external("cdiscpilot01", "sdtm"))


@pytest.fixture(scope="session")
def pharmaverse_params():
    from mpmlib.settings.load import load_params

    external("pharmaversesdtm")
    return load_params(PROJECT_ROOT / "params" / "pharmaverse-onco.yaml")


@pytest.fixture(scope="session")
def pharmaverse_sdtm(pharmaverse_params):
    from mpmlib.sdtm.read import read_sdtm

    return read_sdtm(pharmaverse_params["sdtm"]["dir"], pharmaverse_params["sdtm"]["files"])


def read_rda(*parts: str) -> pd.DataFrame:
    """The one data frame of an external .rda file, as pyreadr gives it (R dates as dates).
    Retries like mpmlib.sdtm.read: pyreadr now and then fails on missing R date-times."""
    import pyreadr

    from mpmlib.sdtm.read import RDA_ATTEMPTS

    for attempt in range(RDA_ATTEMPTS):
        try:
            return next(iter(pyreadr.read_r(str(external(*parts))).values()))
        except (FloatingPointError, pd.errors.OutOfBoundsDatetime):
            if attempt == RDA_ATTEMPTS - 1:
                raise
