"""Reading numbers without trusting them (`safelog._numbers`)."""

from __future__ import annotations

import pytest

from safelog import _numbers


class TestCardShape:
    @pytest.mark.parametrize(
        "text",
        [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "378282246310005",
            "x4111111111111111y",
            "6011111111111117",
        ],
    )
    def test_card_shaped(self, text: str) -> None:
        """13-19 Luhn-valid digits, plain or grouped by single spaces or dashes, anywhere."""
        assert _numbers.looks_like_card_number(text)

    @pytest.mark.parametrize(
        "text",
        [
            "4111111111111112",  # fails Luhn
            "411111111111",  # 12 digits
            "41111111111111111111111",  # a longer run: not a card number's length
            "4111--1111-1111-1111",  # a double separator ends the run
            "4111.1111.1111.1111",  # other separators are not followed
            "req-8f14e45f",
        ],
    )
    def test_not_card_shaped(self, text: str) -> None:
        """Other digit runs (what the docs say is not caught) do not match."""
        assert not _numbers.looks_like_card_number(text)

    def test_card_like_int(self) -> None:
        """Ints of 13+ digits are checked, by absolute value; smaller ones never."""
        assert _numbers.card_like_int(4111111111111111)
        assert _numbers.card_like_int(-4111111111111111)
        assert not _numbers.card_like_int(_numbers.CARD_MIN - 1)


class TestExact:
    def test_subclass_slots_not_consulted(self) -> None:
        """An int/str subclass is read through the base type's slot."""

        class Sneaky(int):
            def __int__(self) -> int:
                return 99

        class Text(str):
            __slots__ = ()

            def __str__(self) -> str:
                return "other"

        assert _numbers.exact_int(Sneaky(3)) == 3
        assert _numbers.exact_int(True) is None
        assert _numbers.exact_str(Text("abc")) == "abc"

    def test_numpy_only_exact_numpy_types(self) -> None:
        """numpy's own scalar types are read by value; anything else is None."""
        np = pytest.importorskip("numpy")

        class Index:
            def __index__(self) -> int:
                return 4111111111111111

        assert _numbers.numpy_int(np.int16(-3)) == -3
        assert _numbers.numpy_int(Index()) is None
        assert _numbers.numpy_int(np.bool_(True)) is None
        assert _numbers.numpy_float(np.float16(0.5)) == 0.5
        assert _numbers.numpy_bool(np.bool_(False)) is False
        assert _numbers.numpy_bool(1) is None
