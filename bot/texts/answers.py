"""An answer's own words, in English and Chinese: the line that frames the best excerpt, the
refusals, and the note saying why a language model's answer was not used (``bot.texts.wording``)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "answer_lead": {"en": "According to {source}: ", "zh": "据{source}："},
    "answer_as_of": {"en": "As of {date}, according to {source}: ", "zh": "截至{date}，据{source}："},
    "answer_closest": {
        "en": "The corpus does not answer this directly. The closest it comes ({source}): ",
        "zh": "语料中没有直接回答这个问题的内容。最接近的是（{source}）：",
    },
    "sources_differ": {
        "en": " Sources differ: {refs} gives a different figure than [1].",
        "zh": " 各来源说法不一：{refs}给出的数字与[1]不同。",
    },
    "date": {"en": "{day} {month} {year}", "zh": "{year}年{month}月{day}日"},
    "month_names": {"en": "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec", "zh": "1,2,3,4,5,6,7,8,9,10,11,12"},
    # what each excerpt is, under the answer (retrieval.types.Citation.role)
    "role_support": {"en": "Also reported", "zh": "其他报道"},
    "role_earlier": {"en": "Earlier", "zh": "更早的报道"},
    "role_related": {"en": "Related, not a direct answer", "zh": "相关内容（并非直接回答）"},
    # refusal reasons (retrieval.types.Answer.refusal)
    "refusal_no_evidence": {
        "en": "I could not find this in the corpus ({size}). Nothing in it answers the question, so I am not citing "
              "anything. If the corpus should cover it, try naming the company, market or event.",
        "zh": "语料库（{size}）中没有找到能回答这个问题的内容，因此不引用任何文章。如果语料应当涉及此事，可以写明公司、市场或事件再问。",
    },
    "refusal_empty_corpus": {
        "en": "The corpus is empty, so there is nothing to answer from. Add articles and run `industry-qa index`.",
        "zh": "语料库为空，无法回答。请先添加文章并运行 `industry-qa index`。",
    },
    "corpus_size": {"en": "{n} articles", "zh": "共 {n} 篇文章"},
    "corpus_size_one": {"en": "{n} article", "zh": "共 {n} 篇文章"},
    # why the language model's answer was not used (retrieval.types.Fallback.code)
    "fallback_note": {
        "en": "(The language model was not used: {reason}. Showing the quoted excerpts instead.)",
        "zh": "（未使用语言模型：{reason}。以下为原文摘录。）",
    },
    "fallback_empty": {"en": "the model returned an empty answer", "zh": "模型返回了空答案"},
    "fallback_not_in_corpus": {"en": "the model found no answer in the excerpts", "zh": "模型在摘录中没有找到答案"},
    "fallback_no_citation": {"en": "the model's answer cited no excerpt", "zh": "模型的答案没有引用任何摘录"},
    "fallback_bad_citation": {
        "en": "the model cited excerpt [{cited}] of {excerpts}",
        "zh": "模型引用了不存在的摘录 [{cited}]（共 {excerpts} 条）",
    },
    "fallback_prompt_leak": {"en": "the model's answer repeated its instructions", "zh": "模型的答案复述了它的指令"},
    "fallback_rate_limited": {"en": "the language model is rate-limited ({status})", "zh": "语言模型受到限流（{status}）"},
    "fallback_server_error": {"en": "the language model service failed ({status})", "zh": "语言模型服务出错（{status}）"},
    "fallback_timeout": {"en": "the language model timed out", "zh": "语言模型超时"},
    "fallback_unreachable": {"en": "the language model could not be reached", "zh": "无法连接语言模型"},
    "fallback_request_refused": {
        "en": "the language model refused the request ({status})",
        "zh": "语言模型拒绝了请求（{status}）",
    },
    "fallback_bad_response": {
        "en": "the language model returned an unusable response ({error})",
        "zh": "语言模型返回了无法使用的响应（{error}）",
    },
}
