"""Create an Ed25519 key pair for access tokens, unless one is already there.

    python -m runtime.keygen PRIVATE_PEM PUBLIC_PEM

Used by the one-shot key step of docker-compose; in a cluster, use your secret manager.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def write_key_pair(private_path: Path, public_path: Path) -> bool:
    """Write a fresh pair; return False (and touch nothing) if the private key exists."""
    if private_path.exists():
        return False
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    created = write_key_pair(Path(argv[0]), Path(argv[1]))
    print("created a new key pair" if created else "key pair already present")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
