"""Names, emails and the password policy."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidArgument
from user.validation import check_password, normalize_email, normalize_name


def test_name_is_trimmed() -> None:
    assert normalize_name("  Ada Lovelace \t") == "Ada Lovelace"


@pytest.mark.parametrize("raw", ["", "   ", "x" * 101, "bad\nname"])
def test_bad_names_are_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalize_name(raw)
    assert caught.value.field == "name"


@pytest.mark.parametrize("raw", [
    "نیما مهدی\u200cزاده",  # noqa: RUF001 (ZWNJ: ordinary Persian spelling)
    "Ada \U0001F469\u200D\U0001F4BB",  # woman technologist: a ZWJ sequence
    "\U0001F468\u200D\U0001F469\u200D\U0001F467",  # family: ZWJ sequence
    "\u2764\uFE0F Ada",  # heart with a variation selector
    # flag of Scotland: an emoji tag sequence
    "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F Ada",
    "Jos\u00e9 \u200eLRM",  # implicit direction mark
    "Ada\u00a0Lovelace",  # no-break space
])
def test_names_with_the_format_characters_scripts_need_are_kept(raw: str) -> None:
    assert normalize_name(raw) == raw


@pytest.mark.parametrize("raw", ["bad\nname", "tab\there", "nul\x00", "del\x7f", "c1\x85x",
                                 "line\u2028sep", "para\u2029sep"])
def test_names_with_control_characters_are_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument, match="control characters") as caught:
        normalize_name(raw)
    assert caught.value.field == "name"


@pytest.mark.parametrize("mark", [chr(c) for c in (*range(0x202A, 0x202F),
                                                    *range(0x2066, 0x206A))])
def test_bidirectional_overrides_and_isolates_are_refused(mark: str) -> None:
    with pytest.raises(InvalidArgument, match="bidirectional") as caught:
        normalize_name(f"admin{mark}nimda")
    assert caught.value.field == "name"


@pytest.mark.parametrize("raw", ["\u200d", "\u200c\u00a0\u200d", "\ufe0f"])
def test_a_name_of_only_invisible_characters_is_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument, match="visible") as caught:
        normalize_name(raw)
    assert caught.value.field == "name"


def test_name_of_100_characters_is_accepted() -> None:
    assert normalize_name("é" * 100) == "é" * 100


def test_email_is_trimmed_and_lower_cased() -> None:
    assert normalize_email("  Ada.Lovelace+books@Example.COM ") == "ada.lovelace+books@example.com"


@pytest.mark.parametrize("raw", [
    "", "plain", "@example.com", "ada@", "ada@example", "ada@@example.com",
    "ada lovelace@example.com", "ada@exa mple.com", "ada@-example.com", ".ada@example.com",
    "ada..l@example.com", "ada@example..com", "a/b@example.com", "a" * 250 + "@example.com",
])
def test_malformed_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalize_email(raw)
    assert caught.value.field == "email"


def test_password_of_seven_characters_is_too_short() -> None:
    with pytest.raises(InvalidArgument, match="at least 8 characters"):
        check_password("1234567")


def test_password_of_eight_characters_is_accepted() -> None:
    assert check_password("12345678") == "12345678"


def test_password_is_kept_exactly_including_spaces() -> None:
    assert check_password("  spaced out  ") == "  spaced out  "


def test_password_of_72_bytes_is_accepted() -> None:
    password = "é" * 36  # 2 bytes each
    assert len(password.encode()) == 72
    assert check_password(password) == password


def test_password_over_72_bytes_is_refused_not_truncated() -> None:
    password = "é" * 36 + "a"  # 37 characters but 73 bytes
    with pytest.raises(InvalidArgument) as caught:
        check_password(password)
    assert "72 bytes" in caught.value.message
    assert "bcrypt" in caught.value.message
    assert password not in caught.value.message


def test_error_names_the_field_given() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_password("short", field="new_password")
    assert caught.value.message.startswith("new_password:")
