"""Text from outside (URLs, page titles, file names, request data) made safe for one log line.

A newline in a logged URL would start a forged log line; an escape sequence would rewrite the
operator's terminal. ``loggable`` writes every control character (C0, DEL, C1, the Unicode line
and paragraph separators and the bidirectional overrides) as a visible escape, and cuts the text.
"""

from __future__ import annotations

import re

MAX_LOGGED_CHARS = 500
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def loggable(value: object, *, limit: int = MAX_LOGGED_CHARS) -> str:
    """``str(value)`` on one line, at most ``limit`` characters (plus a note of how many were cut)."""
    text = str(value)
    if len(text) > limit:
        text = f"{text[:limit]}…(+{len(text) - limit} chars)"
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
