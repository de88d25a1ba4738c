"""One rule for every listing's ``page_size``: 0 means the listing's default, and anything
outside 1..its maximum is refused naming the field."""

from __future__ import annotations

import pytest

from inventory import validation
from orders import paging
from runtime import messaging_admin
from runtime.errors import InvalidArgument
from runtime.pagetokens import page_size

LISTINGS = [(validation.DEFAULT_PAGE_SIZE, validation.MAX_PAGE_SIZE),
            (paging.DEFAULT_PAGE_SIZE, paging.MAX_PAGE_SIZE),
            (messaging_admin.DEFAULT_PAGE_SIZE, messaging_admin.MAX_PAGE_SIZE)]


@pytest.mark.parametrize(("default", "maximum"), LISTINGS)
def test_zero_means_the_default_and_the_bounds_are_kept(default: int, maximum: int) -> None:
    assert page_size(0, default=default, maximum=maximum) == default
    assert page_size(1, default=default, maximum=maximum) == 1
    assert page_size(maximum, default=default, maximum=maximum) == maximum


@pytest.mark.parametrize(("default", "maximum"), LISTINGS)
@pytest.mark.parametrize("outside", [-1, 1])
def test_a_size_outside_the_bounds_is_refused(default: int, maximum: int, outside: int) -> None:
    raw = -1 if outside < 0 else maximum + 1
    with pytest.raises(InvalidArgument, match=rf"^page_size: must be 1\.\.{maximum} "
                                              rf"\(0 means {default}\), not {raw}$") as info:
        page_size(raw, default=default, maximum=maximum)
    assert info.value.field == "page_size"
