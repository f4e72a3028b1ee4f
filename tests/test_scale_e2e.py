"""Two `newsbot run` instances behind a real nginx on a real PostgreSQL, in webhook mode:
one SIGKILLed and restarted, or both restarted one at a time (a deploy)."""

from __future__ import annotations

import pytest

from bench.bench_scale import run_scale
from tests.support.paths import SEEDS
from tests.support.servers import ensure_installed

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def servers() -> None:
    """nginx and PostgreSQL from Debian's packages (installed when missing, as root)."""
    for what in ("postgresql", "nginx"):
        if problem := ensure_installed(what):
            pytest.skip(problem)


async def test_an_instance_killed_mid_run_loses_no_question_and_no_turn() -> None:
    """SIGKILL of one instance under load: every question answered, every reply in the log,
    a follow-up and a More press served by the other instance; a reply sent twice only for
    an update the killed instance held (at least once, never lost)."""
    result = await run_scale(users=30, questions=450, articles=SEEDS, fsync=False)
    assert result["problems"] == []
    assert result["unanswered"] == 0 and result["lost_turns"] == 0
    assert result["duplicates"] <= result["updates_retried"]


async def test_a_rolling_restart_drops_no_update() -> None:
    """Each instance stopped with SIGTERM and started again in turn: nothing lost, nothing
    answered twice."""
    result = await run_scale(users=30, questions=450, articles=SEEDS, rolling=True, fsync=False)
    assert result["problems"] == []
    assert result["duplicates"] == 0 and result["unanswered"] == 0 and result["lost_turns"] == 0
