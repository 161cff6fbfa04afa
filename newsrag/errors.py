"""The error hierarchy: every expected failure is a NewsragError with a one-line message."""


class NewsragError(Exception):
    """Base of every error newsrag reports to the user as one clear line."""


class ConfigError(NewsragError):
    """The configuration file or an environment override is invalid."""


class IngestError(NewsragError):
    """A source could not be read or parsed."""


class StoreError(NewsragError):
    """The vector store or the article catalog is missing, busy or inconsistent."""


class StoreBusyError(StoreError):
    """Another process holds the store's write lock."""


class ModelError(NewsragError):
    """A model (embedder, tokenizer, LLM) could not be loaded."""


class NotFoundError(NewsragError):
    """A requested article or chunk does not exist."""


class EvalError(NewsragError):
    """An eval dataset, answers file or labelled judge set is malformed."""
