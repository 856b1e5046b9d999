"""Variables and date arithmetic: what a template author writes in `${...}`."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kxplan.manifest.vars import (
    VarError,
    add_business_days,
    add_months,
    parse_date,
    substitute,
)

VALUES = {"kickoff": "2027-01-04", "client": "Acme", "month_end": "2027-01-31"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${kickoff}", "2027-01-04"),
        ("Kickoff with ${client}", "Kickoff with Acme"),
        ("${kickoff + 10d}", "2027-01-14"),
        ("${kickoff - 3d}", "2027-01-01"),
        ("${kickoff + 2w}", "2027-01-18"),
        ("${ kickoff+1w-1d }", "2027-01-10"),
        ("${kickoff + 1bd}", "2027-01-05"),
        ("${kickoff + 5bd}", "2027-01-11"),  # Monday + 5 business days = next Monday
        ("${kickoff - 1bd}", "2027-01-01"),  # Monday - 1 business day = Friday before
        ("${month_end + 1m}", "2027-02-28"),  # month end clamps
        ("${month_end + 2m}", "2027-03-31"),
        ("${month_end - 2m}", "2026-11-30"),
        ("${client}: ${kickoff} to ${kickoff + 1w}", "Acme: 2027-01-04 to 2027-01-11"),
        ("literal $${kickoff}", "literal ${kickoff}"),
        ("no variables at all", "no variables at all"),
    ],
)
def test_substitution_and_date_arithmetic(text: str, expected: str) -> None:
    assert substitute(text, VALUES) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${kikoff}", "undefined variable 'kikoff'"),
        ("${client + 1d}", "whose value 'Acme' is not a date"),
        ("${kickoff + 2y}", "unknown unit 'y'"),
        ("${kickoff +}", "cannot read the expression"),
        ("${}", "cannot read the expression"),
        ("${kickoff", "is not closed"),
        ("${kickoff + 9999999d}", "leaves the calendar"),
    ],
)
def test_bad_expressions_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(VarError) as err:
        substitute(text, VALUES)
    assert message in err.value.message


def test_undefined_variable_suggests_the_close_name() -> None:
    with pytest.raises(VarError) as err:
        substitute("${kikoff}", VALUES)
    assert err.value.hint is not None
    assert "did you mean 'kickoff'?" in err.value.hint


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2028-01-31", 1, "2028-02-29"),  # leap year
        ("2027-01-31", 1, "2027-02-28"),
        ("2028-02-29", 12, "2029-02-28"),
        ("2028-02-29", 48, "2032-02-29"),
        ("2027-03-31", -1, "2027-02-28"),
        ("2027-12-15", 1, "2028-01-15"),
        ("2027-01-15", -1, "2026-12-15"),
    ],
)
def test_months_are_clamped_to_the_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(dt.date.fromisoformat(start), months).isoformat() == expected


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        ("2027-01-08", 1, "2027-01-11"),  # Friday + 1 = Monday
        ("2027-01-09", 1, "2027-01-11"),  # Saturday + 1 = Monday
        ("2027-01-10", 0, "2027-01-10"),  # 0 leaves a Sunday alone
        ("2027-01-10", -1, "2027-01-08"),  # Sunday - 1 = Friday
        ("2027-01-11", -1, "2027-01-08"),  # Monday - 1 = Friday
        ("2027-01-04", 10, "2027-01-18"),
        ("2028-02-25", 3, "2028-03-01"),  # over a weekend and a leap day
    ],
)
def test_business_days_skip_weekends(start: str, count: int, expected: str) -> None:
    assert add_business_days(dt.date.fromisoformat(start), count).isoformat() == expected


def _naive_business_days(day: dt.date, count: int) -> dt.date:
    step = 1 if count >= 0 else -1
    for _ in range(abs(count)):
        day += dt.timedelta(days=step)
        while day.weekday() >= 5:
            day += dt.timedelta(days=step)
    return day


@given(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.integers(min_value=-400, max_value=400),
)
def test_business_days_match_counting_one_by_one(day: dt.date, count: int) -> None:
    result = add_business_days(day, count)
    assert result == _naive_business_days(day, count)
    if count:
        assert result.weekday() < 5


@pytest.mark.parametrize("text", ["2027-02-30", "2027-1-4", "04/01/2027", "2027-01-04T10:00"])
def test_only_real_iso_dates_are_dates(text: str) -> None:
    assert parse_date(text) is None
