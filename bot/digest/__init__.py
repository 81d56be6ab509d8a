"""The weekly digest: one module per concern, from inputs to the post.

- ``model``: the records in (dated articles, logged questions, sentence vectors) and out (``Digest``).
- ``sources``: the I/O half, gathering inputs from the corpus, the live index and the question log.
- ``build`` and ``rank``: the pure half, choosing each article's sentence, key points and questions.
- ``render``: Block Kit for Slack and plain text for the terminal.
- ``schedule``: date arithmetic (ISO weeks, slots, windows); ``scheduler``: posting exactly once.
- ``command`` (``/digest``) and ``cli`` (``industry-qa digest``): the two ways to ask for one.

Building a digest needs no Slack settings: ``sources.make_digest`` takes the digest and retrieval
settings and a ``QuestionLog``; only posting needs a token.
"""
