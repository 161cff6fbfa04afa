"""Ingest and Library handlers: uploads saved safely under the data dir, reports, deletion.

    >>> handlers = LibraryHandlers(services)                          # doctest: +SKIP
    >>> done = handlers.ingest_and_check(["/tmp/gradio/ab12/story.txt"],
    ...                                  "https://example.com/a")     # doctest: +SKIP
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.catalog import ArticleRecord
from ingest.models import IngestReport, Skip
from ingest.reporting import SHOWN_PER_REASON, reason_kind
from ingest.sources import is_url
from newsrag.errors import IngestError, NotFoundError
from rag.answer_layout import day
from rag.services import Services
from ui.fresh import arrived_since
from ui.render import escape, plural

OnProgress = Callable[[str], None]


@dataclass(frozen=True)
class Done:
    """An ingest run as the Ingest tab reports it: the titles added, the duplicates refused."""

    report: IngestReport
    titles: tuple[str, ...] = ()  # of the articles added, in order
    duplicates: tuple[tuple[str, str], ...] = ()  # (title, why: "same URL as “…”")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_upload_name(name: str) -> str:
    """A plain file name: no directories, no leading dots, no odd characters.

    >>> safe_upload_name("../../x.txt"), safe_upload_name("..\\\\evil.html"), safe_upload_name("..")
    ('x.txt', 'evil.html', 'upload')
    """
    base = re.split(r"[\\/]", name)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    return base[:120] or "upload"


class LibraryHandlers:
    """The Ingest and Library tabs."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.uploads = services.settings.resolved_data_dir() / "uploads"

    def save_upload(self, temp_path: str, name: str | None = None) -> Path | Skip:
        """Copy an uploaded file into data_dir/uploads, or say why not."""
        settings = self.services.settings
        name = safe_upload_name(name or Path(temp_path).name)
        source = Path(temp_path)
        if Path(name).suffix.lower() not in settings.ingest.extensions:
            allowed = " ".join(settings.ingest.extensions)
            return Skip(name, f"file type not accepted (allowed: {allowed})")
        size_mb = source.stat().st_size / 1e6
        if size_mb > settings.ui.max_upload_mb:
            limit = settings.ui.max_upload_mb
            return Skip(name, f"{size_mb:.1f} MB is over the {limit:g} MB upload limit")
        self.uploads.mkdir(parents=True, exist_ok=True)
        target = (self.uploads / name).resolve()
        if target.parent != self.uploads.resolve():
            raise IngestError(f"refusing to write {name!r} outside the uploads folder")
        shutil.copyfile(source, target)
        return target

    def ingest_and_check(self, files: Sequence[str], urls: str,
                         on_progress: OnProgress | None = None) -> Done:
        """`ingest`, then each added article that repeats one already in the library (the
        same URL, or the same content) is taken out again and reported as a duplicate."""
        report = self.ingest(files, urls, on_progress)
        added = [a for a in report.added if a]
        records = {r.article.id: r.article for r in self.services.index.catalog.list_articles()}
        duplicates: list[tuple[str, str]] = []
        removed: list[str] = []
        for position, article_id in enumerate(added):
            new = records.get(article_id)
            if new is None:
                continue
            later = set(added[position:])
            for other in records.values():
                if other.id in later or other.id in removed:
                    continue
                if new.url and other.url == new.url:
                    why = f"same URL as “{other.title or 'Untitled'}”"
                elif other.content_hash == new.content_hash:
                    why = f"same content as “{other.title or 'Untitled'}”"
                else:
                    continue
                duplicates.append((new.title or "Untitled", why))
                removed.append(article_id)
                break
        if removed:
            index = self.services.index
            with index.writing():
                index.remove(removed)
            report.added = [a for a in report.added if a not in removed]
        titles = tuple(records[a].title or "Untitled" for a in report.added if a in records)
        return Done(report, titles, tuple(duplicates))

    def ingest(self, files: Sequence[str], urls: str,
               on_progress: OnProgress | None = None) -> IngestReport:
        """Ingest uploaded files and pasted URLs (one per line; a line of several URLs
        separated by spaces is several URLs, any other line is one entry)."""
        from ingest.pipeline import ingest

        inputs: list[str] = []
        skipped: list[Skip] = []
        for temp_path in files:
            saved = self.save_upload(temp_path)
            if isinstance(saved, Skip):
                skipped.append(saved)
            else:
                inputs.append(str(saved))
        for line in urls.splitlines():
            words = line.split()
            if words and all(is_url(word) for word in words):
                inputs.extend(words)
            elif words:
                skipped.append(Skip(" ".join(words), "not an http(s) URL"))
        if not inputs:
            report = IngestReport(skipped=skipped)
            if not skipped:
                raise NotFoundError("choose files to upload or paste URLs first")
            return report
        notify = on_progress or (lambda message: None)
        report = ingest(inputs, self.services.settings, self.services.index,
                        on_event=lambda kind, r: notify(_progress_text(r)))
        report.skipped[:0] = skipped
        return report

    def articles(self, query: str = "", sort: str = "newest", outlets: Sequence[str] = (),
                 since: str = "", until: str = "", new_after: float | None = None
                 ) -> list[ArticleRecord]:
        """Library rows: `query` matches titles (case-insensitively), `outlets` and the days
        `since`..`until` (YYYY-MM-DD, inclusive; undated articles only without them) filter,
        and `new_after` (Unix seconds) keeps those stored or updated after it; sorted by
        `sort` (one of SORTS)."""
        needle = query.strip().casefold()
        wanted = set(outlets)
        catalog = self.services.index.catalog
        stored = (catalog.list_articles() if new_after is None
                  else arrived_since(catalog, new_after))
        records = [r for r in stored
                   if needle in r.article.title.casefold()
                   and (not wanted or r.article.source in wanted)
                   and _in_days(r.article.published, since, until)]
        return sort_records(records, sort)

    def outlets(self) -> list[str]:
        return sorted({r.article.source for r in self.services.index.catalog.list_articles()
                       if r.article.source})

    def delete_many(self, article_ids: Sequence[str]) -> list[str]:
        """Delete several articles at once; the ids that were in the library."""
        index = self.services.index
        with index.writing():
            return index.remove(list(article_ids))

    def delete(self, article_id: str) -> str:
        index = self.services.index
        with index.writing():
            removed = index.remove([article_id])
        if not removed:
            raise NotFoundError(f"no article with id {article_id!r}")
        return removed[0]


SORTS = {"newest": "Newest first", "oldest": "Oldest first", "title": "Title", "outlet": "Outlet"}
VIEWS = {"all": "All articles", "new": "New since you last looked"}


def sort_records(records: Sequence[ArticleRecord], sort: str) -> list[ArticleRecord]:
    """Undated articles last whichever way dates are sorted."""
    def dated(r: ArticleRecord) -> tuple[bool, str]:
        return (not r.article.published, r.article.published or "")

    if sort == "oldest":
        return sorted(records, key=dated)
    if sort == "title":
        return sorted(records, key=lambda r: r.article.title.casefold())
    if sort == "outlet":
        return sorted(records, key=lambda r: (r.article.source.casefold() or "\uffff",
                                              r.article.title.casefold()))
    newest = sorted(records, key=lambda r: r.article.published or "", reverse=True)
    return sorted(newest, key=lambda r: not r.article.published)


def _in_days(published: str | None, since: str, until: str) -> bool:
    if not (since or until):
        return True
    day_ = (published or "")[:10]
    return bool(day_) and (not since or day_ >= since[:10]) and (not until or day_ <= until[:10])


def _progress_text(report: IngestReport) -> str:
    return (f"{len(report.added)} added, {len(report.updated)} updated, "
            f"{report.unchanged} unchanged, {len(report.skipped)} skipped …")


def render_report(report: IngestReport | Done) -> str:
    """The ingest summary, the titles added, duplicates, each skip's and warning's reason (at
    most SHOWN_PER_REASON of one kind: a file of 200k bad records is one line and a count, not
    200k list items). Files are named without the server's folders."""
    done = report if isinstance(report, Done) else Done(report)
    report = done.report
    duplicates = (f" · <strong>{len(done.duplicates)}</strong> duplicate"
                  f"{'' if len(done.duplicates) == 1 else 's'}" if done.duplicates else "")
    summary = (f"<strong>{len(report.added)}</strong> added · <strong>{len(report.updated)}"
               f"</strong> updated · <strong>{report.unchanged}</strong> unchanged · "
               f"<strong>{len(report.skipped)}</strong> skipped{duplicates} · "
               f"{plural(report.chunks, 'chunk')} embedded in {report.seconds:.1f} s")
    details = ""
    if done.titles:
        items = "".join(f"<li>{escape(title)}</li>" for title in done.titles[:50])
        more = f"<li>… and {len(done.titles) - 50:,} more</li>" if len(done.titles) > 50 else ""
        details += f'<div>Added:</div><ul class="nr-added">{items}{more}</ul>'
    if done.duplicates:
        items = "".join(f"<li>{escape(title)}: not added again ({escape(why)})</li>"
                        for title, why in done.duplicates)
        details += f'<div>Duplicates:</div><ul class="nr-duplicates">{items}</ul>'
    details += _listed(report.skipped, "nr-skips", "skipped")
    details += _listed(report.warnings, "nr-warnings", "warnings")
    kind = "nr-report-warn" if report.skipped and not report.stored else "nr-report"
    return f'<div class="{kind}" role="status">{summary}{details}</div>'


def _listed(items: Sequence[Skip], css: str, label: str) -> str:
    shown: Counter[str] = Counter()
    rows = []
    for item in items:
        kind = reason_kind(item.reason)
        shown[kind] += 1
        if shown[kind] <= SHOWN_PER_REASON:
            rows.append(f"<li><code>{escape(shown_location(item.location))}</code>: "
                        f"{escape(item.reason)}</li>")
    rows += [f"<li>… and {count - SHOWN_PER_REASON:,} more {label} for "
             f"“{escape(kind)}”</li>" for kind, count in shown.items()
             if count > SHOWN_PER_REASON]
    return f'<ul class="{css}">{"".join(rows)}</ul>' if rows else ""


def shown_location(location: str) -> str:
    """A URL as it is; a file as its name (and record number), without server folders.

    >>> shown_location("/srv/data/uploads/story.jsonl:12"), shown_location("https://x.org/a")
    ('story.jsonl:12', 'https://x.org/a')
    """
    if is_url(location) or ("/" not in location and "\\" not in location):
        return location
    return re.split(r"[\\/]", location)[-1]


def render_library(records: Sequence[ArticleRecord], query: str = "",
                   filtered: bool = False, empty: str = "") -> str:
    """The article table: a title opens the article in the reader beside it, a row's Delete
    and "Delete selected" (ticked rows) ask first (handled by the app's script). `empty` is
    said when there are no rows (else: no match, or nothing ingested)."""
    if not records:
        what = ("match that search" if query.strip() or filtered
                else "are ingested yet (see the Ingest tab)")
        return f'<div class="nr-note">{escape(empty or f"No articles {what}.")}</div>'
    rows = "".join(
        f'<tr><td><input type="checkbox" class="nr-pick" value="{escape(r.article.id)}" '
        f'aria-label="Select {escape(r.article.title)}"></td>'
        f'<td><button type="button" class="nr-read" data-read="{escape(r.article.id)}">'
        f'{escape(r.article.title or "Untitled")}</button></td>'
        f"<td>{escape(day(r.article.published))}</td>"
        f"<td>{escape(r.article.source)}</td><td>{r.n_chunks}</td>"
        f'<td><button type="button" class="nr-delete" data-delete="{escape(r.article.id)}" '
        f'data-title="{escape(r.article.title)}">Delete</button></td></tr>'
        for r in records)
    return (f'<div class="nr-library-bar"><span class="nr-note">'
            f'{plural(len(records), "article")}</span> <button type="button" '
            'class="nr-delete-picked">Delete selected</button></div>'
            '<table class="nr-library"><thead><tr><th></th><th>Title</th><th>Date</th>'
            "<th>Source</th><th>Chunks</th><th></th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")
