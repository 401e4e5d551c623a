import math

import pytest

from kerasx import _validation as v


@pytest.mark.backend_agnostic
class TestValidation:
    @pytest.mark.parametrize("value", [0, -1, math.inf, math.nan, "1", True, None])
    def test_check_positive_rejects(self, value):
        with pytest.raises(
            ValueError, match=r"Invalid value for argument `a`\. Expected a float > 0"
        ):
            v.check_positive("a", value)

    def test_message_form(self):
        with pytest.raises(ValueError) as info:
            v.check_positive("beta", 0)
        assert str(info.value) == (
            "Invalid value for argument `beta`. Expected a float > 0. Received: beta=0"
        )

    @pytest.mark.parametrize("value", [0, 0.5, 1])
    def test_check_in_range_accepts_closed(self, value):
        assert v.check_in_range("r", value, 0, 1) == value

    @pytest.mark.parametrize("value", [0, 1])
    def test_check_in_range_open_ends(self, value):
        with pytest.raises(ValueError, match=r"Expected a float in \(0, 1\)"):
            v.check_in_range("r", value, 0, 1, low_open=True, high_open=True)

    def test_check_non_negative(self):
        assert v.check_non_negative("a", 0) == 0
        with pytest.raises(ValueError, match="Expected a float >= 0"):
            v.check_non_negative("a", -0.1)

    @pytest.mark.parametrize("value", [0, 1.0, True, "2"])
    def test_check_int_rejects(self, value):
        with pytest.raises(ValueError, match="Expected an integer >= 1"):
            v.check_int("n", value, minimum=1)

    def test_check_int_accepts(self):
        assert v.check_int("n", 3, minimum=1) == 3

    def test_check_one_of(self):
        assert v.check_one_of("w", None, (None, "linear")) is None
        with pytest.raises(ValueError, match="Expected one of"):
            v.check_one_of("w", "x", (None, "linear"))
