"""Follows and alerts (``follow``, ``unfollow``, ``follows``, the alert messages) and answer-change
alerts ("Tell me when this changes"), in English and Chinese."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # follow commands
    "follow_done": {
        "en": ":bell: You now follow *{term}*{aliases}. I'll DM you when a new article mentions it.",
        "zh": ":bell: 已关注 *{term}*{aliases}。有新文章提到它时，我会私信你。",
    },
    "follow_done_channel": {
        "en": ":bell: This channel now follows *{term}*{aliases}. New articles that mention it will be posted here.",
        "zh": ":bell: 本频道已关注 *{term}*{aliases}。提到它的新文章会发到这里。",
    },
    "follow_aliases": {"en": " (also: {aliases})", "zh": "（也包括：{aliases}）"},
    "follow_already": {"en": "You already follow *{term}*.", "zh": "你已经关注了 *{term}*。"},
    "follow_already_channel": {"en": "This channel already follows *{term}*.", "zh": "本频道已经关注了 *{term}*。"},
    "follow_bad_term": {
        "en": "Please name one company or term to follow, e.g. `follow Zhipu` (at most {limit} characters).",
        "zh": "请写出一个要关注的公司或术语，例如 `关注 智谱`（最多 {limit} 个字符）。",
    },
    "follow_channel_not_here": {
        "en": "Channel follows are made in the channel itself: `@industry-qa channel follow <term>` there.",
        "zh": "请在频道里设置频道关注：在该频道发送 `@industry-qa 频道关注 <术语>`。",
    },
    "unfollow_done": {"en": "You no longer follow *{term}*.", "zh": "已取消关注 *{term}*。"},
    "unfollow_done_channel": {"en": "This channel no longer follows *{term}*.", "zh": "本频道已取消关注 *{term}*。"},
    "unfollow_unknown": {"en": "You don't follow *{term}*.", "zh": "你没有关注 *{term}*。"},
    "unfollow_unknown_channel": {"en": "This channel doesn't follow *{term}*.", "zh": "本频道没有关注 *{term}*。"},
    "follows_none": {
        "en": "You don't follow anything yet. Try `follow Zhipu` or `关注 智谱`.",
        "zh": "你还没有关注任何内容。试试 `关注 智谱` 或 `follow Zhipu`。",
    },
    "follows_list": {"en": "You follow: {terms}", "zh": "你关注了：{terms}"},
    "follows_channel_list": {"en": "This channel follows: {terms}", "zh": "本频道关注了：{terms}"},
    "follows_saved": {"en": "Questions you're watching for changes: {count}", "zh": "你在关注变化的问题：{count} 个"},
    "command_help": {
        "en": ("`/iqa follow <term>`, `/iqa unfollow <term>`, `/iqa follows`, `/iqa settings` (in a channel); "
               "`/ask <question>` asks privately."),
        "zh": "`/iqa 关注 <术语>`、`/iqa 取消关注 <术语>`、`/iqa 我的关注`、`/iqa 设置`（在频道中）；`/ask <问题>` 私下提问。",
    },
    # follow alerts
    "follow_alert_title": {"en": ":bell: New on {terms}: {count} article(s)", "zh": ":bell: {terms} 有 {count} 篇新文章"},
    "follow_alert_more": {"en": "…and {count} more new articles.", "zh": "……另有 {count} 篇新文章。"},
    "follow_alert_footer": {
        "en": "You get this because of a follow. `unfollow {term}` stops it.",
        "zh": "你收到这条消息是因为设置了关注。发送 `取消关注 {term}` 即可停止。",
    },
    # answer-change alerts
    "watch_button": {"en": ":bell: Tell me when this changes", "zh": ":bell: 答案变化时通知我"},
    "watch_saved": {
        "en": ":bell: I'll DM you when new articles change this answer. You can watch up to {limit} questions.",
        "zh": ":bell: 新文章改变这个答案时，我会私信你。你最多可以关注 {limit} 个问题。",
    },
    "watch_full": {
        "en": "You already watch {limit} questions, the most I keep per person. Stop one from its alert first.",
        "zh": "你已经关注了 {limit} 个问题，这是每人的上限。请先在某条提醒中停止一个。",
    },
    "watch_unknown": {"en": "Sorry, I can't find that answer any more.", "zh": "抱歉，找不到这条答案了。"},
    "watch_stopped": {"en": "OK, no more alerts for that question.", "zh": "好的，不再提醒这个问题。"},
    "change_title": {"en": ":bell: The answer to a question you watch has changed",
                     "zh": ":bell: 你关注的问题有了新的答案"},
    "change_reason_answered": {"en": "The corpus can now answer it.", "zh": "语料现在可以回答这个问题了。"},
    "change_reason_newer": {"en": "A newer excerpt now answers it.", "zh": "现在有更新的原文摘录回答它。"},
    "change_reason_withdrawn": {"en": "The corpus no longer answers it.", "zh": "语料已无法回答这个问题。"},
    "change_reason_related": {"en": "The corpus has new related excerpts, though still no direct answer.",
                              "zh": "语料有了新的相关原文，但仍不是直接回答。"},
    "change_now": {"en": "Now ({date})", "zh": "现在（{date}）"},
    "change_before": {"en": "Before ({date})", "zh": "之前（{date}）"},
    "change_was_refused": {"en": "The corpus did not answer it.", "zh": "语料当时无法回答。"},
    "change_stop": {"en": "Stop alerts for this question", "zh": "不再提醒这个问题"},
}
