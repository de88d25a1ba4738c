"""Ed25519 keys for access tokens.

Only the user service holds the private key; other services verify with the public key
alone. Production points ``BOOKSTORE_JWT_PRIVATE_KEY_FILE`` / ``..._PUBLIC_KEY_FILE`` at
mounted secrets. Locally, with neither set, a development key pair is created once under
``<data dir>/keys`` and shared by every service on the machine.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.settings import ServiceSettings, StartupError

DEV_KEY_NAME = "jwt-ed25519.pem"


class KeyFileError(StartupError):
    """A key file is missing, unreadable or holds no Ed25519 key; the message names it."""


def load_private_key(settings: ServiceSettings) -> Ed25519PrivateKey:
    path = settings.jwt_private_key_file or _dev_private_key_path(settings)
    variable = "BOOKSTORE_JWT_PRIVATE_KEY_FILE"
    try:
        key = serialization.load_pem_private_key(_read(path, variable), password=None)
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{variable}: {path} does not hold an Ed25519 private key in PEM")
    return key


def load_public_key(settings: ServiceSettings) -> Ed25519PublicKey:
    path = settings.jwt_public_key_file
    if path is None:
        return load_private_key(settings).public_key()
    variable = "BOOKSTORE_JWT_PUBLIC_KEY_FILE"
    try:
        key = serialization.load_pem_public_key(_read(path, variable))
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{variable}: {path} does not hold an Ed25519 public key in PEM")
    return key


def _read(path: Path, variable: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{variable}: cannot read {path}: {exc.strerror}") from None


def _dev_private_key_path(settings: ServiceSettings) -> Path:
    """The local key pair's path, creating it on first use (race-free between services)."""
    path = settings.data_dir / "keys" / DEV_KEY_NAME
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    try:
        os.write(fd, pem)
        os.close(fd)
        os.link(tmp, path)  # fails if another process got there first; theirs wins
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path
