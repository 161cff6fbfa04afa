"""Whose an article id is: the one rule for ids offered again by another source.

An article id belongs to the source (file path or URL) that stored it. Another source that
offers the same id is refused with a reason, never allowed to replace the article silently:
ids appear in every citation, so anyone who could get a file, feed or page ingested could
otherwise put words under a known article's name. The rule is the same for files, JSON and
JSON Lines records, feeds, URLs and uploads; to move an article to another source, delete it
first. Uploads share one folder (`<data_dir>/uploads`) where a later upload of the same name
overwrites the file, so there the uploaded content is part of the source.
"""

from __future__ import annotations

from pathlib import Path

from ingest.catalog import LiveArticle
from ingest.models import Article, Skip


def holds(known: dict[str, LiveArticle], article_id: str, location: str) -> bool:
    """Whether the article is stored, and from this location."""
    held = known.get(article_id)
    return held is not None and held.location == location


def refusal(article: Article, held: LiveArticle | None, uploads: Path) -> Skip | None:
    """Why `article` may not take its id (see the module docstring), or None."""
    if held is None:
        return None
    if held.location != article.location:
        return Skip(article.location,
                    f"duplicate article id {article.id!r}: already stored from "
                    f"{held.location} (delete it first to replace it from here)", article.id)
    if Path(article.location).parent == uploads and held.content_hash != article.content_hash:
        return Skip(article.location,
                    f"duplicate article id {article.id!r}: another upload named "
                    f"{Path(article.location).name} is stored under it (rename the file, "
                    f"or delete that article first)", article.id)
    return None
