"""What a name, an email address and a password must look like; pure, no IO.

Each check returns the normalized value or raises :class:`InvalidArgument` naming the field,
so the caller sees exactly what to fix. Passwords are never echoed back in a message.
"""

from __future__ import annotations

import re
import unicodedata

from runtime.errors import InvalidArgument

NAME_MAX_CHARS = 100
EMAIL_MAX_CHARS = 254  # RFC 5321's limit on a forward path
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_BYTES = 72  # bcrypt ignores anything beyond; we refuse rather than truncate

# Deliberately simple: one "@", a dot-atom local part, and a domain of dotted labels with a
# top-level part. Full RFC 5322 syntax (quoted strings, comments) is rarely real and never
# worth the surprises; the reset mail is what proves an address works.
_LOCAL = r"[a-z0-9!#$%&'*+=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+=?^_`{|}~-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"{_LOCAL}@(?:{_LABEL}\.)+[a-z]{{2,63}}")

# Names are written in every script, and many need invisible format characters (category Cf):
# ZWNJ (U+200C) in ordinary Persian spelling, ZWJ (U+200D) in emoji sequences, variation
# selectors, emoji tags. Those are accepted. Refused: control characters and line or paragraph
# breaks, which have no place in a name, and the bidirectional embeddings, overrides and
# isolates, which can make a name display as something other than what it is ("Trojan
# Source", CVE-2021-42574). The implicit marks (LRM, RLM, ALM) stay allowed: mixed-direction
# names sometimes need them, and they cannot reorder text across a name's boundary.
_BREAKS = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def normalize_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise InvalidArgument("name", "must not be empty")
    if len(name) > NAME_MAX_CHARS:
        raise InvalidArgument("name", f"must be at most {NAME_MAX_CHARS} characters")
    categories = [unicodedata.category(ch) for ch in name]
    if any(category in _BREAKS for category in categories):
        raise InvalidArgument("name", "must not contain control characters or line breaks")
    if any(ch in _BIDI_CONTROLS for ch in name):
        raise InvalidArgument(
            "name", "must not contain bidirectional embedding, override or isolate characters "
                    "(U+202A to U+202E, U+2066 to U+2069)")
    if not any(category[0] in "LNPS" for category in categories):  # letters, digits, symbols
        raise InvalidArgument("name", "must contain at least one visible character")
    return name


def canonical_email(raw: str) -> str:
    """The form an address is stored and compared in: trimmed and lower-cased."""
    return raw.strip().lower()


def normalize_email(raw: str, field: str = "email") -> str:
    email = canonical_email(raw)
    if not email:
        raise InvalidArgument(field, "must not be empty")
    if len(email) > EMAIL_MAX_CHARS:
        raise InvalidArgument(field, f"must be at most {EMAIL_MAX_CHARS} characters")
    if _EMAIL.fullmatch(email) is None:
        raise InvalidArgument(field, "is not a valid email address")
    return email


def check_password(password: str, field: str = "password") -> str:
    """Accept a new password as given (no trimming: spaces count) or say why not."""
    if len(password) < PASSWORD_MIN_CHARS:
        raise InvalidArgument(field, f"must be at least {PASSWORD_MIN_CHARS} characters")
    size = len(password.encode("utf-8"))
    if size > PASSWORD_MAX_BYTES:
        raise InvalidArgument(
            field,
            f"must be at most {PASSWORD_MAX_BYTES} bytes in UTF-8 (the bcrypt limit); "
            f"this one is {size} bytes",
        )
    if "\x00" in password:
        raise InvalidArgument(field, "must not contain NUL characters")
    return password
