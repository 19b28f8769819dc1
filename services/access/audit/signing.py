"""Detached Ed25519 signatures of evidence files, checkable with `openssl` alone.

An auditor who receives a file and `FILE.sig` need not trust our tools: the signature is
the raw 64 bytes over the file's exact bytes (no hashing step, no container format), so
`openssl pkeyutl -verify -pubin -inkey PUB -rawin -in FILE -sigfile FILE.sig` checks it.
Keys are the PEM files `openssl genpkey -algorithm ed25519` (PKCS#8) and
`openssl pkey -pubout` (SubjectPublicKeyInfo) write.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key


class SigningKeyError(ValueError):
    """The key file is not an Ed25519 key of the kind asked for."""


def signature_path(evidence: Path) -> Path:
    return evidence.with_name(evidence.name + ".sig")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(path.read_bytes())
    except ValueError as exc:
        raise SigningKeyError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key")
    return key


def sign_file(evidence: Path, key: Ed25519PrivateKey) -> Path:
    """Write `evidence`.sig: the raw signature of the file's bytes as they are on disk."""
    target = signature_path(evidence)
    target.write_bytes(key.sign(evidence.read_bytes()))
    return target


def is_intact(evidence: Path, key: Ed25519PublicKey, signature: Path | None = None) -> bool:
    """Whether the signature matches the file byte for byte (a missing file is not)."""
    try:
        data = evidence.read_bytes()
        sig = (signature or signature_path(evidence)).read_bytes()
    except FileNotFoundError:
        return False
    try:
        key.verify(sig, data)
    except InvalidSignature:
        return False
    return True
