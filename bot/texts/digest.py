"""The weekly digest's words (its post, its terminal print and the ``/digest`` replies), in English and Chinese."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "digest_title": {"en": "Week {week}, {year}", "zh": "{year}年第{week}周"},
    "digest_summary": {
        "en": "Weekly digest · {start} – {end} ({tz}) · new articles: {articles} · questions asked: {questions}",
        "zh": "每周摘要 · {start} – {end}（{tz}）· 新文章 {articles} 篇 · 提问 {questions} 个",
    },
    "digest_new": {"en": "New this week", "zh": "本周新增"},
    "digest_no_new": {"en": "No new articles this week.", "zh": "本周没有新文章。"},
    "digest_more_articles": {"en": "…and {count} more new articles not shown.", "zh": "……另有 {count} 篇新文章未显示。"},
    "digest_key": {"en": "Key developments", "zh": "要点"},
    "digest_stories": {"en": "This week's stories", "zh": "本周要闻"},
    "digest_stories_day": {"en": "The day's stories", "zh": "当日要闻"},
    "digest_more_stories": {"en": "…and {count} more stories.", "zh": "……另有 {count} 条要闻。"},
    "digest_title_day": {"en": "Daily digest, {day}", "zh": "{day} 每日摘要"},
    "digest_summary_day": {
        "en": "Daily digest · {start} – {end} ({tz}) · new articles: {articles} · questions asked: {questions}",
        "zh": "每日摘要 · {start} – {end}（{tz}）· 新文章 {articles} 篇 · 提问 {questions} 个",
    },
    "digest_new_day": {"en": "New today", "zh": "今日新增"},
    "digest_no_new_day": {"en": "No new articles today.", "zh": "今天没有新文章。"},
    "digest_no_questions_day": {"en": "No questions were asked today.", "zh": "今天没有人提问。"},
    "digest_asked": {"en": "What people asked", "zh": "大家问了什么"},
    "digest_no_questions": {"en": "No questions were asked this week.", "zh": "本周没有人提问。"},
    "digest_unanswered": {
        "en": "Could not answer (worth adding to the corpus)",
        "zh": "未能回答（建议补充到语料中）",
    },
    "digest_all_answered": {"en": "Every question found an answer.", "zh": "所有问题都找到了答案。"},
    "digest_times": {"en": "×{count}", "zh": "×{count}"},
    # /digest (bot/digest/command.py): the preview's note, the ack and what goes wrong
    "digest_preview_posted": {
        "en": "Preview, visible only to you. Posted every {when} to {where}.",
        "zh": "预览，仅你可见。每周 {when} 发布到 {where}。",
    },
    "digest_preview_not_posted": {
        "en": "Preview, visible only to you. Not posted automatically: DIGEST_CHANNEL is not set (would post {when}).",
        "zh": "预览，仅你可见。未设置 DIGEST_CHANNEL，不会自动发布（计划时间 {when}）。",
    },
    "digest_building": {"en": "Building the digest preview…", "zh": "正在生成摘要预览…"},
    "digest_bad_week": {
        "en": "Sorry, week must look like 2026-W48 (got {text}). Try `/digest` or `/digest 2026-W48`.",
        "zh": "抱歉，周次的格式应为 2026-W48（收到的是 {text}）。请试试 `/digest` 或 `/digest 2026-W48`。",
    },
    "digest_no_such_week": {
        "en": "Sorry, {year} has no ISO week {week}. Try `/digest` or `/digest 2026-W48`.",
        "zh": "抱歉，{year} 年没有第 {week} 个 ISO 周。请试试 `/digest` 或 `/digest 2026-W48`。",
    },
    "digest_failed": {
        "en": "Sorry, the digest could not be built. It has been logged; please try again later.",
        "zh": "抱歉，摘要生成失败，已记录到日志。请稍后再试。",
    },
}
