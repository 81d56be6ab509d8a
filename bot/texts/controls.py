"""The controls under an answer (the feedback form, sharing) and the "Check against the corpus"
shortcut, in English and Chinese."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "share_button": {"en": "Share to channel", "zh": "分享到频道"},
    "shared_by": {"en": "Shared by <@{user}>, who asked: {question}", "zh": "<@{user}> 分享，提问：{question}"},
    "share_done": {"en": ":white_check_mark: Shared in <#{channel}>.", "zh": ":white_check_mark: 已分享到 <#{channel}>。"},
    "share_unknown": {"en": "Sorry, that answer can no longer be shared; ask again to share a new one.",
                      "zh": "抱歉，这条答案已无法分享；请重新提问后再分享。"},
    "share_not_yours": {"en": "Only the person who asked can share this answer.", "zh": "只有提问的人可以分享这条答案。"},
    "share_not_in_channel": {
        "en": "I can't post in <#{channel}>: invite me there first (`/invite @industry-qa`).",
        "zh": "我无法在 <#{channel}> 发消息：请先邀请我加入（`/invite @industry-qa`）。",
    },
    "share_failed": {"en": "Sorry, sharing failed. It has been logged.", "zh": "抱歉，分享失败，已记录到日志。"},
    "share_pick_title": {"en": "Share the answer", "zh": "分享答案"},
    "share_pick_label": {"en": "Channel", "zh": "频道"},
    "share_submit": {"en": "Share", "zh": "分享"},
    "form_cancel": {"en": "Cancel", "zh": "取消"},
    "feedback_form_title": {"en": "What was wrong?", "zh": "哪里有问题？"},
    "feedback_form_reason": {"en": "The answer…", "zh": "这个答案……"},
    "feedback_reason_wrong_fact": {"en": "states a wrong fact", "zh": "事实有误"},
    "feedback_reason_outdated": {"en": "is outdated", "zh": "信息过时"},
    "feedback_reason_not_relevant": {"en": "does not answer the question", "zh": "答非所问"},
    "feedback_reason_other": {"en": "something else", "zh": "其他问题"},
    "feedback_form_detail": {"en": "Anything to add? (optional)", "zh": "还有补充吗？（可选）"},
    "feedback_form_send": {"en": "Send", "zh": "提交"},
    "feedback_form_skip": {"en": "Skip", "zh": "跳过"},
    "check_empty": {
        "en": "That message has no text to check. Pick a message with a claim or a headline.",
        "zh": "这条消息没有可核对的文字。请选择一条包含说法或标题的消息。",
    },
}
