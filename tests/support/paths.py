"""Where the tests find the project, the shipped articles and the BBC sample."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
# ../shared beside the repository (as CI has it), or NEWSBOT_BBC_DIR (a git worktree elsewhere).
BBC = Path(os.environ.get("NEWSBOT_BBC_DIR") or ROOT.parent / "shared" / "corpora" / "bbc-dev")
