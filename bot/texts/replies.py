"""Replies to questions and feedback in Slack, in English and Chinese (``bot.texts.t`` reads them)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "help": {
        "en": (
            "Ask me about the industry news corpus, e.g. *{bot} which AI company will be first to list in Hong Kong?*\n"
            "I reply in the thread with an answer and numbered, quoted sources. "
            "Reply in that thread for a follow-up (no need to mention me again). "
            "`/ask <question>` answers privately."
        ),
        "zh": (
            "可以向我提问行业新闻语料中的问题，例如 *{bot} 哪家大模型公司最先在香港上市？*\n"
            "我会在话题中回复答案并附上编号的原文引用。在同一话题里直接回复即可追问（无需再次@我）。"
            "`/ask <问题>` 会只对你可见地回答。"
        ),
    },
    "files_only": {
        "en": "I can't read attached files yet. Please paste the text of your question into the message.",
        "zh": "我暂时还不能读取附件。请把问题的文字直接写在消息里。",
    },
    "files_ignored": {
        "en": "Attached files are not read yet; this answer uses the text of your message only.",
        "zh": "暂不读取附件；此答案只根据你消息中的文字。",
    },
    "question_cut": {
        "en": "Your question was long, so I used only its first {limit:,} characters.",
        "zh": "你的问题太长，我只使用了前 {limit:,} 个字符。",
    },
    "rate_limited": {
        "en": "You've asked {limit} questions in the last minute. Please wait a moment, then ask again.",
        "zh": "你在一分钟内已经提了 {limit} 个问题。请稍等片刻再问。",
    },
    "error_retrieval": {
        "en": "Sorry, I couldn't answer that: {reason}",
        "zh": "抱歉，无法回答：{reason}",
    },
    # the reason in "error_retrieval" for each kind of retrieval failure (bot/handler.py); the
    # operator's version, with paths, is in the log
    "error_index_missing": {
        "en": "the index has not been built yet (whoever runs the bot needs to run `industry-qa index`).",
        "zh": "索引尚未建立（请运行机器人的人执行 `industry-qa index`）。",
    },
    "error_index_broken": {
        "en": "the index needs to be rebuilt (whoever runs the bot needs to run `industry-qa index --rebuild`).",
        "zh": "索引需要重建（请运行机器人的人执行 `industry-qa index --rebuild`）。",
    },
    "error_embedding": {"en": "the embedding model failed; please try again in a little while.",
                        "zh": "向量模型出错，请稍后再试。"},
    "error_search": {"en": "the search failed; it has been logged.", "zh": "检索出错，已记录到日志。"},
    "error_generic": {
        "en": "Sorry, something went wrong while answering. It has been logged; please try again in a little while.",
        "zh": "抱歉，回答时出了问题，已记录到日志。请稍后再试。",
    },
    "state_unavailable": {
        "en": "Sorry, I can't answer right now: my storage is failing (it has been logged). Please try again in a little while.",
        "zh": "抱歉，我现在无法回答：存储出现故障（已记录到日志）。请稍后再试。",
    },
    "restart_apology": {
        "en": "Sorry, I was restarted before I could answer this. Please ask again.",
        "zh": "抱歉，我在回答这个问题之前重启了。请再问一次。",
    },
    "nothing_found": {
        "en": "I found nothing in the corpus about that.",
        "zh": "语料中没有找到与此相关的内容。",
    },
    "working": {"en": "Looking that up…", "zh": "正在查找…"},
    "writing": {"en": "Writing an answer…", "zh": "正在撰写答案…"},
    "sources": {"en": "Sources", "zh": "来源"},
    "more_sources": {"en": "…and {count} more sources not shown.", "zh": "……另有 {count} 条来源未显示。"},
    "answer_cut": {"en": "…(answer shortened to fit in Slack)", "zh": "……（答案过长，已截断）"},
    "excerpt_cut": {"en": "…", "zh": "…"},
    "helpful": {"en": "Helpful", "zh": "有帮助"},
    "not_helpful": {"en": "Not helpful", "zh": "没帮助"},
    "feedback_up": {"en": "Thanks, your :+1: is recorded.", "zh": "谢谢，已记录你的 :+1:。"},
    "feedback_down": {
        "en": "Thanks, your :-1: is recorded; it helps us improve the answers.",
        "zh": "谢谢，已记录你的 :-1:，这有助于改进答案。",
    },
    "feedback_unknown": {"en": "Sorry, I can't find that answer any more.", "zh": "抱歉，找不到这条答案了。"},
}
