"""Retention while ``industry-qa serve`` runs: processed-event keys after 30 days, and the question
log, its votes and thread context after ``QUESTION_LOG_DAYS``, once at start and then every few
hours on one background thread. Every replica may prune; deleting what another already deleted is
harmless.
"""

from __future__ import annotations

import logging

from bot.background import Periodic
from bot.state.protocols import Maintenance

logger = logging.getLogger(__name__)

# Slack stops redelivering an event after about 5 minutes; processed keys are kept far longer.
PROCESSED_RETENTION_S = 30 * 24 * 3600
PRUNE_EVERY_S = 6 * 3600
DAY_S = 24 * 3600


def prune_once(store: Maintenance, *, question_log_days: int) -> tuple[int, int]:
    """(processed keys, history rows) removed; ``question_log_days=0`` keeps the history forever."""
    keys = store.prune(older_than_s=PROCESSED_RETENTION_S)
    history = store.prune_history(older_than_s=question_log_days * DAY_S) if question_log_days > 0 else 0
    if keys or history:
        logger.info("retention: removed %d processed-event keys and %d question-log, vote and thread rows "
                    "(older than %d days)", keys, history, question_log_days)
    return keys, history


class Pruner(Periodic):
    def __init__(self, store: Maintenance, *, question_log_days: int, every_s: float = PRUNE_EVERY_S) -> None:
        self.store = store
        self.question_log_days = question_log_days
        super().__init__(self._prune, name="retention", every_s=every_s, first_delay_s=every_s)

    def _prune(self) -> None:
        prune_once(self.store, question_log_days=self.question_log_days)
