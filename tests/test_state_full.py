"""A full disk under the state database: every delivery is still acked (never a 500 that Slack
redelivers), the asker gets a short notice, the failure is logged once, and the bot answers again as
soon as there is room. The disk is the real SQLite file, limited with ``PRAGMA max_page_count``:
SQLite then fails exactly as on a full disk (SQLITE_FULL, "database or disk is full")."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest

from bot.state.sqlite import SQLiteStateStore
from tests.bot_fakes import FakeSlack
from tests.bot_fixtures import QUESTION, mention, message, texts_of


class SmallDisk(SQLiteStateStore):
    """The real store on a file that can be made to run out of room, and given room again."""

    def fill(self) -> None:
        with self._lock:
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            self._conn.execute(f"PRAGMA max_page_count = {pages}")
            n = 0
            for size in (2000, 200, 20, 1):  # use up the free space left in the pages there are, to the last byte
                try:
                    while True:
                        n += 1
                        self._conn.execute("INSERT INTO processed (key, created_at) VALUES (?, 0)",
                                           (f"{n}:" + "x" * size,))
                except sqlite3.OperationalError as err:
                    assert "full" in str(err)

    def free(self) -> None:
        with self._lock:
            self._conn.execute("PRAGMA max_page_count = 1073741823")


def test_a_full_disk_is_acked_told_logged_once_and_recovered(make_bot: Any, qa_service: Any, fake_slack: FakeSlack,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    bot = make_bot(answerer=qa_service, store_class=SmallDisk)
    store: SmallDisk = bot.store
    store.fill()
    with caplog.at_level(logging.INFO):
        statuses = [bot.post_event(mention(QUESTION, ts=f"1700000500.00000{i}"), event_id=f"EvFull{i}").status
                    for i in range(3)]
        # Slack redelivering one of them (its first delivery was acked late, say): not told twice
        statuses.append(bot.post_event(mention(QUESTION, ts="1700000500.000000"), event_id="EvFull0",
                                       retry_num=1).status)
        notices = fake_slack.wait_count("chat.postEphemeral", 3, timeout=30)
        fake_slack.settle(0.5)
    assert statuses == [200, 200, 200, 200]
    assert len(fake_slack.calls_to("chat.postEphemeral")) == 3
    assert all("storage is failing" in texts_of(n) for n in notices)
    assert {n.body["thread_ts"] for n in notices} == {f"1700000500.00000{i}" for i in range(3)}
    assert fake_slack.calls_to("chat.postMessage") == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "state database is failing" in errors[0].getMessage(), [r.getMessage() for r in errors]
    assert not any(r.exc_info for r in caplog.records)  # no traceback per delivery

    store.free()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert bot.post_event(mention(QUESTION, ts="1700000501.000100"), event_id="EvRoomAgain").status == 200
        [answer] = fake_slack.wait_count("chat.postMessage", 1, timeout=30)
    assert "example.com/zhipu-hearing" in texts_of(answer)
    assert any("works again" in r.getMessage() for r in caplog.records)


class _Unreachable:
    """A connection to a database that is gone: every call fails as SQLite does on an I/O error."""

    def __getattr__(self, name: str) -> Any:
        raise sqlite3.OperationalError("disk I/O error")


class LostDatabase(SQLiteStateStore):
    """The real store, until its database is lost: then reads fail as well as writes."""

    def lose(self) -> None:
        with self._lock:
            self._kept, self._conn = self._conn, _Unreachable()  # type: ignore[assignment]

    def close(self) -> None:
        with self._lock:
            self._conn = getattr(self, "_kept", self._conn)
        super().close()


def test_a_lost_database_still_acks_and_tells_the_asker_once(make_bot: Any, qa_service: Any, fake_slack: FakeSlack,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    bot = make_bot(answerer=qa_service, store_class=LostDatabase)
    bot.store.lose()
    with caplog.at_level(logging.INFO):
        first = bot.post_event(mention(QUESTION, ts="1700000502.000100"), event_id="EvLost1").status
        follow_up = bot.post_event(message("and when?", ts="1700000502.000200", thread_ts="1700000502.000100"),
                                   event_id="EvLost2").status  # a thread that cannot be looked up: no reply
        [notice] = fake_slack.wait_count("chat.postEphemeral", 1, timeout=30)
        fake_slack.settle(0.5)
    assert (first, follow_up) == (200, 200)
    assert "storage is failing" in texts_of(notice) and notice.body["thread_ts"] == "1700000502.000100"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and not any(r.exc_info for r in caplog.records), [r.getMessage() for r in errors]
