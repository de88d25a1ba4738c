"""The build backend of ``bookstore-client``: setuptools, after staging the sources.

Built from a checkout (``pip install ./packaging/client``, or a git URL with
``#subdirectory=packaging/client``), it first stages ``client/`` and the contracts it needs
as ``staged/bookstore_client/`` (stage.py). Built from this distribution's own sdist, where
no checkout is around, it uses the staged copy the sdist carries. The wrapping follows
setuptools' documented in-tree backend pattern (``backend-path``).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import build_meta as _setuptools
from stage import PACKAGE, StageError, stage

__all__ = ["build_sdist", "build_wheel", "get_requires_for_build_sdist",
           "get_requires_for_build_wheel", "prepare_metadata_for_build_wheel"]

HERE = Path(__file__).resolve().parent
STAGED = HERE / "staged"


def _stage() -> None:
    checkout = HERE.parents[1]
    if HERE.parent.name == "packaging" and (checkout / "client" / "__init__.py").is_file():
        stage(checkout, STAGED)
    elif not (STAGED / PACKAGE / "__init__.py").is_file():
        raise StageError(f"nothing to build: {HERE} is neither packaging/client in a Bookstore "
                         "checkout nor an sdist of bookstore-client")


def get_requires_for_build_wheel(config_settings: dict[str, object] | None = None
                                  ) -> list[str]:
    _stage()  # setuptools reads the package list already here
    return list(_setuptools.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_sdist(config_settings: dict[str, object] | None = None
                                  ) -> list[str]:
    _stage()
    return list(_setuptools.get_requires_for_build_sdist(config_settings))


def build_wheel(wheel_directory: str, config_settings: dict[str, object] | None = None,
                metadata_directory: str | None = None) -> str:
    _stage()
    return str(_setuptools.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory: str, config_settings: dict[str, object] | None = None) -> str:
    _stage()
    return str(_setuptools.build_sdist(sdist_directory, config_settings))


def prepare_metadata_for_build_wheel(metadata_directory: str,
                                     config_settings: dict[str, object] | None = None) -> str:
    _stage()
    return str(_setuptools.prepare_metadata_for_build_wheel(metadata_directory,
                                                            config_settings))
