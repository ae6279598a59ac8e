"""paperscope.dates: the one parser of days, ISO weeks and months, and the one week key."""

from __future__ import annotations

from datetime import date

import pytest

from paperscope import dates
from paperscope.harvest import hf
from paperscope.mail.periods import period_key
from paperscope.web.params import BadParameter, parse_period


def test_week_and_month_parse_the_same_everywhere() -> None:
    assert dates.parse_week("2026-W09") == dates.parse_week("2026w09") == date(2026, 2, 23)
    assert parse_period(None, "2026W09", None).start == date(2026, 2, 23)  # type: ignore[union-attr]
    # The harvester took only "2026-W09"; it now reads what the web reads.
    assert hf.days_of(week="2026W09")[0] == date(2026, 2, 23)
    assert dates.parse_month("2026-02") == date(2026, 2, 1)
    assert dates.month_days(date(2024, 2, 1))[-1] == date(2024, 2, 29)


@pytest.mark.parametrize("value", ["9999-W52", "0000-W01", "2026-W54", "2026-13", "26-W01", "9999-12", "0000-01"])
def test_out_of_range_periods_are_format_errors(value: str) -> None:
    parse = dates.parse_week if "W" in value else dates.parse_month
    with pytest.raises(dates.DateFormatError):
        parse(value)


def test_web_names_the_parameter() -> None:
    with pytest.raises(BadParameter) as info:
        parse_period(None, "9999-W52", None)
    assert info.value.parameter == "week" and "year" in str(info.value)
    with pytest.raises(BadParameter) as info:
        parse_period("9999-12-31", None, None)
    assert info.value.parameter == "date"


def test_loose_day_bounds() -> None:
    assert dates.loose_day("2024-2", end=True) == "2024-02-29"
    assert dates.loose_day("9999", end=True) is None
    assert dates.loose_day("0999") is None


def test_one_week_key() -> None:
    assert dates.week_key(date(2027, 1, 1)) == "2026-W53" == period_key("weekly", date(2027, 1, 1))
    assert parse_period(None, "2026-W53", None).key == "2026-W53"  # type: ignore[union-attr]
