"""App Home and the assistant panel (suggested prompts, status), in English and Chinese."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "home_title": {"en": "Industry QA", "zh": "行业问答"},
    "home_intro": {
        "en": "I answer questions about the industry news corpus with quoted, linked sources. "
              "Mention me in a channel, write to me here, or open me in the assistant panel.",
        "zh": "我根据行业新闻语料回答问题，并附上带链接的原文引用。可以在频道里@我、在这里私信我，或在助手面板中打开我。",
    },
    "home_corpus": {"en": "*What I know:* {count} articles · newest: {newest}",
                    "zh": "*语料：*共 {count} 篇文章 · 最新：{newest}"},
    "home_corpus_empty": {"en": "*What I know:* no articles yet. Add one with `@industry-qa add <url>`.",
                          "zh": "*语料：*还没有文章。可用 `@industry-qa add <链接>` 添加。"},
    "home_no_index": {"en": "*What I know:* the index is not built yet (`industry-qa index`).",
                      "zh": "*语料：*索引尚未建立（`industry-qa index`）。"},
    "home_feeds_none": {"en": "Feeds: none configured.", "zh": "订阅源：未配置。"},
    "home_feeds_waiting": {"en": "Feeds: no round has run yet.", "zh": "订阅源：尚未运行过。"},
    "home_feeds_round": {"en": "Last feed round: {when} · {added} added, {failed} failed, {broken} feeds unreachable",
                         "zh": "最近一次订阅抓取：{when} · 新增 {added} 篇，失败 {failed} 篇，{broken} 个订阅源不可用"},
    "home_digest_next": {"en": "Next digest: {when} in <#{channel}>", "zh": "下一期摘要：{when}，发到 <#{channel}>"},
    "home_digest_none": {"en": "No digest is scheduled.", "zh": "没有安排摘要。"},
    "home_try": {"en": "*Try asking*", "zh": "*试着问*"},
    "home_recent": {"en": "*Your recent questions*", "zh": "*你最近的问题*"},
    "home_recent_none": {"en": "You haven't asked anything yet.", "zh": "你还没有提过问题。"},
    "home_recent_private": {"en": "(privately)", "zh": "（私下）"},
    "home_follows": {"en": "*Your follows*", "zh": "*你的关注*"},
    "home_follows_none": {"en": "None yet: write `follow Zhipu` (or `关注 智谱`) to me.",
                          "zh": "暂无：给我发 `关注 智谱`（或 `follow Zhipu`）即可。"},
    "home_watching": {"en": "Watching {count} answer(s) for changes.", "zh": "正在关注 {count} 个答案的变化。"},
    "example_first": {"en": "Who is closest to listing?", "zh": "哪家公司最接近上市？"},
    "example_news": {"en": "What's new this week?", "zh": "这周有什么新进展？"},
    "example_latest": {"en": "What's the latest on {name}?", "zh": "{name}最近有什么进展？"},
    "assistant_prompts_title": {"en": "Ask about the news corpus, for example:", "zh": "可以问语料里的新闻，例如："},
    "assistant_status": {"en": "is searching the corpus…", "zh": "正在检索语料…"},
    "assistant_greeting": {
        "en": "Hi! Ask me anything about the news corpus; every answer quotes its sources.",
        "zh": "你好！可以问我语料中的任何新闻问题，每个答案都会引用原文。",
    },
}
