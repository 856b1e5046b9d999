"""The workspace lock's small parts: durations, lifetimes, who holds it, which claim wins."""

from __future__ import annotations

import json

import pytest

from kxplan.errors import UsageError
from kxplan.lock import (
    LOCK_MODEL,
    LOCK_SERVICE,
    claim_from_ref,
    current_holder,
    lock_ttl,
    parse_duration,
    who_am_i,
)


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0.0), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("90", 90.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "", "-5s", "5d", "nan", "inf", "2h30m", "25h"])
def test_bad_durations_say_what_is_accepted(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_duration(text)
    assert "is not a duration" in info.value.message
    assert "30s, 5m or 1h" in (info.value.hint or "")


def test_lock_lifetime_from_the_environment() -> None:
    assert lock_ttl({}) == 120.0
    assert lock_ttl({"KXPLAN_LOCK_TTL": "2"}) == 2.0
    with pytest.raises(UsageError, match="KXPLAN_LOCK_TTL='0' is not a number of seconds"):
        lock_ttl({"KXPLAN_LOCK_TTL": "0"})


def test_the_holder_names_the_ci_job_when_there_is_one() -> None:
    holder, link = who_am_i(
        {
            "GITHUB_RUN_ID": "981",
            "GITHUB_WORKFLOW": "deploy",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "acme/plans",
        }
    )
    assert " pid " in holder and holder.endswith(", CI job deploy #981")
    assert link == "https://github.com/acme/plans/actions/runs/981"
    assert (
        who_am_i({"CI_JOB_ID": "7", "CI_JOB_URL": "https://gitlab/j/7"})[1] == "https://gitlab/j/7"
    )
    assert who_am_i({})[1] == ""


def _ref(ref_id: int, run: str, until: str, status: str = "locked") -> dict[str, object]:
    message = {"holder": f"h{run}", "since": "2027-01-04T09:00:00+00:00", "until": until}
    return {
        "id": str(ref_id),
        "service_name": LOCK_SERVICE,
        "service_model": LOCK_MODEL,
        "service_model_ref": run,
        "external_status": status,
        "external_message": json.dumps(message),
    }


def test_the_oldest_unexpired_unreleased_claim_holds_the_workspace() -> None:
    later = "2027-01-04T09:02:00+00:00"
    claims = [
        claim_from_ref(_ref(5, "released", later, status="released")),
        claim_from_ref(_ref(6, "expired", "2027-01-04T09:00:30+00:00")),
        claim_from_ref(_ref(8, "second", later)),
        claim_from_ref(_ref(7, "first", later)),
    ]
    now = claim_from_ref(_ref(1, "x", "2027-01-04T09:01:00+00:00"))
    assert now is not None and all(c is not None for c in claims)
    holder = current_holder([c for c in claims if c is not None], now.until)
    assert holder is not None and holder.run_id == "first"
    assert current_holder([], now.until) is None


def test_a_reference_that_is_not_a_readable_lock_is_ignored() -> None:
    assert claim_from_ref({**_ref(1, "a", "x"), "external_message": "not json"}) is None
    assert (
        claim_from_ref({**_ref(1, "a", "2027-01-04T09:02:00+00:00"), "service_model": "x"}) is None
    )
    assert claim_from_ref(_ref(1, "a", "tomorrow")) is None
