"""newsrag: offline, cited question answering over news articles.

The `newsrag` package holds the shared kernel every stage imports (settings, errors, the
offline environment) and the command line, which imports the stages lazily.
"""

__version__ = "0.1.0"
