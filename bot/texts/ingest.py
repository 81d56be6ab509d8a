"""Adding articles in Slack (``@bot add <url>``, the "Add to corpus" shortcut), in English and Chinese:
the replies, and why an article was not added."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "add_added": {
        "en": ":white_check_mark: Added *<{url}|{title}>*{when} to the corpus. Ask away.",
        "zh": ":white_check_mark: 已将 *<{url}|{title}>*{when} 加入语料库，可以提问了。",
    },
    "add_known": {"en": ":information_source: Already in the corpus: {url} ({reason}).",
                  "zh": ":information_source: 语料库中已有：{url}（{reason}）。"},
    "add_failed": {"en": ":warning: Could not add {url}: {reason}.", "zh": ":warning: 无法添加 {url}：{reason}。"},
    "add_nothing": {"en": "Nothing was added.", "zh": "没有添加任何内容。"},
    "add_not_allowed": {
        "en": "Sorry, you are not on the list of people who may add articles (ADD_ALLOWED_USERS).",
        "zh": "抱歉，你不在可以添加文章的名单上（ADD_ALLOWED_USERS）。",
    },
    "add_too_many": {"en": "Please add at most {limit} links at a time.", "zh": "每次最多添加 {limit} 个链接。"},
    "add_error": {
        "en": "Sorry, adding the article failed. It has been logged; please try again later.",
        "zh": "抱歉，添加文章失败，已记录到日志。请稍后再试。",
    },
    "add_progress": {
        "en": ":hourglass_flowing_sand: Adding: {done:,} of {total:,} passages embedded…",
        "zh": ":hourglass_flowing_sand: 正在添加：已向量化 {done:,} / {total:,} 段文字…",
    },
    "add_no_link": {"en": "That message has no link to add.", "zh": "这条消息里没有可添加的链接。"},
    # why an article was not added: "add_reason_<code>" words the code of a retrieval.ingest.Outcome
    # (a FetchError's or ExtractError's, or the ingest's own); the values are the error's
    "add_reason_private_address": {
        "en": "refused: that address is on a private or local network, and only public web sites are fetched",
        "zh": "已拒绝：该地址位于内网或本机，只能抓取公开网站",
    },
    "add_reason_not_http": {"en": "not an http(s) URL: {url}", "zh": "不是 http(s) 网址：{url}"},
    "add_reason_bad_url": {"en": "not a valid URL ({detail})", "zh": "不是有效的网址（{detail}）"},
    "add_reason_too_many_redirects": {"en": "more than {limit} redirects", "zh": "重定向超过 {limit} 次"},
    "add_reason_robots_unreadable": {
        "en": "robots.txt of {host} could not be read, so the site is not fetched",
        "zh": "无法读取 {host} 的 robots.txt，因此不抓取该网站",
    },
    "add_reason_robots_disallowed": {
        "en": "robots.txt of {host} disallows fetching {path}",
        "zh": "{host} 的 robots.txt 不允许抓取 {path}",
    },
    "add_reason_too_big": {
        "en": "larger than the FETCH_MAX_BYTES limit ({limit:,} bytes)",
        "zh": "超过 FETCH_MAX_BYTES 上限（{limit:,} 字节）",
    },
    "add_reason_timeout": {"en": "timed out after {seconds} s", "zh": "{seconds} 秒后超时"},
    "add_reason_connect_failed": {"en": "could not connect to {host} ({detail})", "zh": "无法连接 {host}（{detail}）"},
    "add_reason_network_error": {"en": "network error ({error}: {detail})", "zh": "网络错误（{error}：{detail}）"},
    "add_reason_not_found": {"en": "not found (HTTP {status})", "zh": "页面不存在（HTTP {status}）"},
    "add_reason_gone": {"en": "gone (HTTP {status})", "zh": "页面已被删除（HTTP {status}）"},
    "add_reason_server_busy": {
        "en": "the server answered HTTP {status}; try again later",
        "zh": "服务器返回 HTTP {status}，请稍后再试",
    },
    "add_reason_server_refused": {"en": "the server refused (HTTP {status})", "zh": "服务器拒绝了请求（HTTP {status}）"},
    "add_reason_not_article": {
        "en": "not an article page (content type {media_type})",
        "zh": "不是文章页面（内容类型 {media_type}）",
    },
    "add_reason_no_text": {
        "en": "no article text found (a paywall, a login wall, or not an article page)",
        "zh": "没有找到文章正文（可能是付费墙、登录墙，或不是文章页面）",
    },
    "add_reason_bad_pdf": {"en": "unreadable PDF ({error})", "zh": "无法读取的 PDF（{error}）"},
    "add_reason_empty_pdf": {
        "en": "no text found in the PDF (scanned images, or empty)",
        "zh": "PDF 中没有文字（扫描图片或空文件）",
    },
    "add_reason_known_url": {"en": "already in the corpus as {path}", "zh": "已作为 {path} 收录"},
    "add_reason_same_canonical_url": {"en": "same canonical URL as {path}", "zh": "与 {path} 的规范网址相同"},
    "add_reason_same_text": {"en": "same text as {path}", "zh": "与 {path} 的正文相同"},
    "add_alias_recorded": {"en": "; URL recorded as an alias", "zh": "；已将该网址记为别名"},
    "add_reason_too_long": {
        "en": "too long to add: {texts:,} passages to embed, more than the {limit:,} allowed (ADD_MAX_TEXTS)",
        "zh": "过长，无法添加：需要向量化 {texts:,} 段文字，超过上限 {limit:,} 段（ADD_MAX_TEXTS）",
    },
    "add_reason_index_failed": {
        "en": "not added: indexing failed ({detail}); the details are in the server log",
        "zh": "未添加：建立索引失败（{detail}），详情见服务器日志",
    },
    "add_reason_embedding_failed": {
        "en": "not added: indexing failed (the embedding model failed); the details are in the server log",
        "zh": "未添加：建立索引失败（向量模型出错），详情见服务器日志",
    },
    "add_reason_unknown": {"en": "the page could not be added", "zh": "无法添加该页面"},
}
