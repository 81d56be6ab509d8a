"""App Home: what the bot knows (``summary``, kept per index generation), the tab as Block Kit
(``view``, pure) and the listener that publishes it when someone opens it (``listener``)."""
