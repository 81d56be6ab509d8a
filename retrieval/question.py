"""What a question asks for: its type, the names it mentions, its time cues.

Slack questions are short and lean on the corpus's topic ("who is first to list?", "minimax day
one", "月之暗面要上市吗"). Knowing that a question asks *when* lets the answer prefer a sentence
with a date over one that merely repeats the question's words; knowing that it names Zhipu lets it
refuse to answer with another company's figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .glossary import NAME, TERM, Glossary
from .text import EN_STOPWORDS, ZH_STOPWORDS, chinese_runs, chinese_words, detect_language, english_words

# Question types. NUMBER covers how much / how many / prices / changes; ENTITY who / which.
WHY, WHEN, ENTITY, NUMBER, PLACE, YES_NO, EVENT, OTHER = "why", "when", "entity", "number", "place", "yes_no", "event", "other"
# time cues
STATE = "state"  # latest / now / still / yet: the newest evidence answers
FIRST = "first"  # first / earliest: who did it first

_EN_TYPES: list[tuple[str, re.Pattern[str]]] = [
    # "who raised more", "which did better": a comparison of amounts, not a name
    (NUMBER, re.compile(r"\b(?:who|which)\b.{0,60}\b(?:more|less|higher|lower|bigger|smaller|better|worse|most|least)\b", re.I)),
    (WHY, re.compile(r"\bwhy\b|\breasons?\b|\bhow come\b|\bwhat (?:caused|drove|explains)\b|\bwhat changes\b", re.I)),
    (WHEN, re.compile(r"\bwhen\b|\bwhat (?:date|day|time)\b|\bwhich (?:date|day)\b|\bhow soon\b|\bby when\b|\bhow long\b|\bdate\b|\bexpiry\b", re.I)),
    (NUMBER, re.compile(
        r"\bhow (?:much|many|big|far|high|low|large)\b|\bwhat (?:was|is|were|are|'s)\b.{0,40}?\b(?:price|valuation|value|"
        r"worth|revenue|loss|profit|proceeds|cap|size|amount|range|gain|drop|close|code|ticker)|\bwhere did\b.{0,40}?"
        r"\b(?:close|open|end|finish|trade)|\bhow did\b.{0,40}?\b(?:do|perform|trade|fare)\b|\bday one\b|"
        r"\b(?:price|valuation|revenue|loss|losses|proceeds|market cap|oversubscription|stock code|ticker|"
        r"range|earnings)\b", re.I)),
    (ENTITY, re.compile(r"\bwho\b|\bwhich (?:company|companies|firm|firms|one|lab|labs|start-?up|ai|chip|of)\b|\bwhose\b", re.I)),
    (PLACE, re.compile(r"\bwhere\b", re.I)),
    (YES_NO, re.compile(r"^\s*(?:is|are|was|were|did|does|do|has|have|had|will|can|could|should|would)\b", re.I)),
    (EVENT, re.compile(r"\bwhat (?:happened|happens|is new|'s new)\b|\blatest\b|\bnews\b|\bupdate\b|\bplanning\b|\bnext\b", re.I)),
]
_ZH_TYPES: list[tuple[str, re.Pattern[str]]] = [
    (NUMBER, re.compile(r"(?:谁|哪家|哪个).{0,20}(?:更多|更高|更低|更少|更好|更大|最多|最高|涨得多|跌得多)")),
    (WHY, re.compile(r"为什么|为何|原因|怎么会|何以")),
    (WHEN, re.compile(r"什么时候|何时|哪天|哪一天|几月|几号|几时|什么时间|多久|哪年|日期|到期")),
    (NUMBER, re.compile(r"多少|几倍|几家|几个|几何|价格|发行价|估值|市值|营收|收入|亏损|募资|涨幅|跌幅|涨了|跌了|代码|区间|"
                        r"股价|收盘|开盘|首日|表现|倍数")),
    (ENTITY, re.compile(r"谁|哪家|哪些公司|哪个公司|哪一家|哪几家|哪些")),
    (PLACE, re.compile(r"哪里|在哪|何地|哪个交易所")),
    (YES_NO, re.compile(r"吗[？?。!！]*$|是否|有没有|是不是|了没|没有[？?]*$|能否|会不会")),
    (EVENT, re.compile(r"最新|进展|新动向|动态|怎么了|发生了什么|计划|打算")),
]
# "what's new this week?", "这周有什么新进展？", "MiniMax有什么新消息": the corpus's newest news
_EN_NEWS = re.compile(r"\bwhat(?:'s|’s| is| has been)? (?:new|happening|going on)\b|\bany (?:news|updates?)\b|"
                      r"\b(?:latest|recent) (?:news|developments?|updates?)\b|\bwhat happened (?:this|last) week\b|"
                      r"\bthe latest\s*(?:on|with|about|for|from|[?？]|$)|"
                      r"^\s*(?:news|updates?)\s*[?？]*\s*$", re.I)
_ZH_NEWS = re.compile(r"有什么新|有何新|最新消息|最新进展|最新动态|新进展|新动向|新动态|新消息|最近(?:有什么|发生了什么)|这周发生|本周发生")
_EN_STATE = re.compile(r"\b(?:latest|now|currently|current|still|yet|so far|anymore|any more|today|at the moment|"
                       r"these days|recent|recently|most recent|newest|after)\b|" + _EN_NEWS.pattern, re.I)
_ZH_STATE = re.compile(r"目前|现在|最新|最近|当前|如今|还|仍|已经|了吗|了没|至今|近况|" + _ZH_NEWS.pattern)
_EN_FIRST = re.compile(r"\bfirst\b(?!\s+(?:day|trading day|half|quarter))|\bearliest\b|\bbefore\b|\bbeat\b", re.I)
_ZH_FIRST = re.compile(r"谁先|先上市|第一股|首家|第一家|第一个|第一只|最早|率先|抢先")
_EN_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9.&'-]*(?:\s+[A-Z][A-Za-z0-9.&'-]*)*")
# capitalised words that are not names: question words and common abbreviations
_NOT_NAMES = frozenset({
    "what", "who", "when", "where", "why", "how", "which", "whose", "is", "are", "was", "were", "did", "does",
    "do", "has", "have", "had", "will", "can", "could", "should", "would", "the", "a", "an", "and", "or", "in",
    "on", "i", "it", "its", "ipo", "ipos", "ai", "ceo", "cfo", "hk", "q1", "q2", "q3", "q4", "h1", "h2",
    "tell", "give", "show", "any", "compare", "vs", "versus", "also", "so", "if", "may", "might", "please",
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
})


@dataclass(frozen=True)
class Question:
    text: str
    language: str
    qtype: str
    groups: frozenset[int]  # glossary groups it mentions (names and terms)
    names: frozenset[int]  # the subset that names an entity
    unknown_names: tuple[str, ...]  # capitalised names that are in no glossary line
    state: bool  # asks for the current state of a story
    first: bool  # asks who/what came first
    # refers back to someone it does not name ("and when will it list?", "它什么时候上市"): only a
    # thread's earlier questions can say who; asked alone, it is never answered directly
    refers_back: bool = False

    @property
    def wants_number(self) -> bool:
        return self.qtype == NUMBER


def analyse(text: str, glossary: Glossary, *, language: str | None = None) -> Question:
    """Type, names and time cues of ``text`` (the standalone question)."""
    lang = language or detect_language(text)
    text = glossary.correct(text)
    found = glossary.find(text)
    first = bool(_ZH_FIRST.search(text) or _EN_FIRST.search(text))
    # "谁先上市" asks about being first without the word: the sentence that says "first" answers
    groups = frozenset(found) | (glossary.mentions("first") if first else frozenset())
    names = frozenset(g for g in groups if glossary.groups[g].kind == NAME)
    covered = [span for spans in found.values() for span in spans]
    q = Question(
        text=text, language=lang, qtype=question_type(text, lang), groups=groups, names=names,
        unknown_names=_unknown_names(text, covered), state=bool((_ZH_STATE if lang == "zh" else _EN_STATE).search(text)
                                                              or (_EN_STATE.search(text) if lang == "zh" else False)),
        first=first,
    )
    # "and when will it list?": a pronoun, and nothing else to say whom (no name, no words of its own;
    # "…for AI unicorns after they go public" says whom)
    if not names and not q.unknown_names and _REFERS_BACK.search(_DUMMY_IT.sub(" ", text)) and not own_words(q, glossary):
        q = replace(q, refers_back=True)
    return q


def asks_for_news(question: Question, glossary: Glossary) -> bool:
    """"What's new this week?", "这周有什么新进展？", "What's new with Zhipu?": the newest news of the
    corpus (about the companies named, if any), not a fact (no term of the news asked about)."""
    if question.unknown_names or any(glossary.groups[g].kind == TERM for g in question.groups):
        return False
    return bool(_ZH_NEWS.search(question.text) or _EN_NEWS.search(question.text))


def question_type(text: str, language: str) -> str:
    """The first matching type, in order of how specific the evidence it asks for is."""
    table = _ZH_TYPES if language == "zh" else _EN_TYPES
    for qtype, pattern in table:
        if pattern.search(text):
            return qtype
    if language == "zh":  # mixed questions ("MiniMax day one 涨了多少") use the English table too
        return next((qtype for qtype, pattern in _EN_TYPES if pattern.search(text)), OTHER)
    return OTHER


def _unknown_names(text: str, covered: list[tuple[int, int]]) -> tuple[str, ...]:
    """Capitalised words that look like names (not the question's first word, not a glossary
    mention, not a question word): "What was Horizon Robotics' first-day gain?" -> Horizon Robotics."""
    out: list[str] = []
    for m in _EN_CAPITALISED.finditer(text):
        # the run's words outside glossary mentions ("Quanta's IPO": Quanta; "IPO" is a term)
        words = [w.group(0) for w in re.finditer(r"\S+", m.group(0))
                 if w.group(0).lower().strip(".'s") not in _NOT_NAMES
                 and not any(a <= m.start() + w.start() < b for a, b in covered)]
        if not words:
            continue
        name = " ".join(words).rstrip(".'").removesuffix("'s").removesuffix("’s")
        if name.lower() in EN_STOPWORDS or len(name) < 2:
            continue
        out.append(name)
    return tuple(out)


def analyse_turn(text: str, history: list[str] | tuple[str, ...], glossary: Glossary) -> Question:
    """A thread's follow-up ("and minimax?", "那第二天呢") keeps what it does not replace: the
    earlier question's type, and its names or its concepts when the follow-up gives none."""
    q = analyse(text, glossary)
    earlier = [h for h in history if h.strip()]
    if not earlier:
        return q
    prev = analyse(earlier[-1], glossary)
    names = q.names or prev.names
    own_concepts = q.groups - q.names
    concepts = own_concepts or (prev.groups - prev.names)
    return Question(
        text=text, language=q.language, qtype=q.qtype if q.qtype != OTHER else prev.qtype,
        groups=frozenset(names | concepts), names=frozenset(names),
        unknown_names=q.unknown_names or (() if q.names else prev.unknown_names),
        state=q.state or prev.state, first=q.first or prev.first,
        refers_back=q.refers_back and not names and not prev.unknown_names,
    )


# "why does it matter who lists first?", "is it true that…": an "it" that points at nothing before
_DUMMY_IT = re.compile(r"\b(?:does|did|do|would|will|is|was|isn't|wasn't)\s+it\s+(?:matter|count|make\s+sense|true|possible|likely|"
                       r"worth|important|expected|said|reported|known)\b|\bit\s+(?:matters?|mattered|seems|appears)\b|"
                       r"\bit(?:'s|’s|\s+is)\s+(?:true|possible|likely|said|reported|expected)\b", re.IGNORECASE)
_REFERS_BACK = re.compile(r"\b(?:it|its|they|their|them|the company|this company)\b|它|该公司|这家公司|他们", re.IGNORECASE)

# Words that say how a question is put, not what it is about (they need not appear in an answer).
ASKING = frozenset({
    "big", "much", "many", "last", "year", "years", "now", "still", "new", "news", "latest", "recent", "tell",
    "know", "happen", "happened", "happening", "going", "get", "got", "give", "say", "said", "saying", "think", "yet",
    "ever", "really", "too", "either", "compare", "compared", "versus", "vs", "each", "other", "one", "two", "long", "soon", "day",
    "today", "current", "currently", "end", "up", "make", "made", "like", "way", "thing", "things", "people",
    "matter", "matters", "important", "importance", "significant", "significance", "mean", "means", "also", "heading", "head", "headed", "plan", "plans", "planning",
    "planned", "expect", "expected", "likely", "want", "wants", "need", "needs", "able", "move", "moves",
    "一共", "总共", "多少", "现在", "目前", "最新", "最近", "这次", "此次", "那个", "这个", "情况", "怎么样", "如何",
    "什么", "哪些", "哪家", "是不是", "有没有", "为什么", "怎么", "多久", "多大", "几个", "大家", "都", "还", "了",
    "呢", "吗", "吧", "啊", "时候", "什么时候", "对比", "相比", "之间", "各自", "分别", "已经", "表现", "怎样", "一下", "请问", "成为",
    "动向", "新动向", "动态", "进展", "新进展", "消息", "新消息", "新闻",
})


def uncovered_text(question: Question, glossary: Glossary) -> str:
    """The question with every glossary mention blanked out: what the glossary cannot carry across."""
    text = question.text
    for spans in glossary.find(text).values():
        for a, b in spans:
            text = text[:a] + " " * (b - a) + text[b:]
    return text


def own_words(question: Question, glossary: Glossary) -> list[str]:
    """The question's content words that no glossary line covers and that are not question words
    (for Chinese, its nouns): what must turn up somewhere in the corpus for the corpus to be about
    the question at all ("weather", "天气", "Horizon")."""
    text = uncovered_text(question, glossary)
    words = [w.strip("'’") for w in english_words(text)]
    words = [w for w in words if len(w) > 1 and w not in ASKING and w not in EN_STOPWORDS]
    runs = " ".join(run for run in chinese_runs(text) if len(run) >= 2)  # "要", "吗" between names: no word
    # tagging parts of speech loads a second table (about a second): only when a word is left to tag
    if any(len(w) >= 2 and w not in ASKING and w not in ZH_STOPWORDS for w in chinese_words(runs)):
        words += [w for w in chinese_words(runs, nouns_only=True) if len(w) >= 2 and w not in ASKING
                  and w not in ZH_STOPWORDS]
    return list(dict.fromkeys(words))
