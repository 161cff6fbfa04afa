"""Ingest and Library handlers: uploads saved safely under the data dir, reports, deletion.

    >>> handlers = LibraryHandlers(services)                   # doctest: +SKIP
    >>> report = handlers.ingest(["/tmp/gradio/ab12/story.txt"],        # doctest: +SKIP
    ...     "https://example.com/a")
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.catalog import ArticleRecord
from ingest.models import IngestReport, Skip
from ingest.reporting import SHOWN_PER_REASON, reason_kind
from ingest.sources import is_url
from newsrag.errors import IngestError, NotFoundError
from rag.services import Services
from ui.render import escape, link, plural

OnProgress = Callable[[str], None]
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

    def ingest(self, files: Sequence[str], urls: str,
               on_progress: OnProgress | None = None) -> IngestReport:
        """Ingest uploaded files and pasted URLs (one per line, or separated by spaces)."""
        from ingest.pipeline import ingest

        inputs: list[str] = []
        skipped: list[Skip] = []
        for temp_path in files:
            saved = self.save_upload(temp_path)
            if isinstance(saved, Skip):
                skipped.append(saved)
            else:
                inputs.append(str(saved))
        for word in urls.split():
            if is_url(word):
                inputs.append(word)
            else:
                skipped.append(Skip(word, "not an http(s) URL"))
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

    def articles(self, query: str = "") -> list[ArticleRecord]:
        """Library rows, newest first; `query` matches titles, case-insensitively."""
        needle = query.strip().casefold()
        records = self.services.index.catalog.list_articles()
        return [r for r in records if needle in r.article.title.casefold()]

    def delete(self, article_id: str) -> str:
        index = self.services.index
        with index.writing():
            removed = index.remove([article_id])
        if not removed:
            raise NotFoundError(f"no article with id {article_id!r}")
        return removed[0]


def _progress_text(report: IngestReport) -> str:
    return (f"{len(report.added)} added, {len(report.updated)} updated, "
            f"{report.unchanged} unchanged, {len(report.skipped)} skipped …")


def render_report(report: IngestReport) -> str:
    """The ingest summary, each skip's and warning's reason (at most SHOWN_PER_REASON of one
    kind: a file of 200k bad records is one line and a count, not 200k list items)."""
    summary = (f"<strong>{len(report.added)}</strong> added · <strong>{len(report.updated)}"
               f"</strong> updated · <strong>{report.unchanged}</strong> unchanged · "
               f"<strong>{len(report.skipped)}</strong> skipped · {report.chunks} chunks "
               f"embedded in {report.seconds:.1f} s")
    details = _listed(report.skipped, "nr-skips", "skipped")
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
            rows.append(f"<li><code>{escape(item.location)}</code>: {escape(item.reason)}</li>")
    rows += [f"<li>… and {count - SHOWN_PER_REASON:,} more {label} for "
             f"“{escape(kind)}”</li>" for kind, count in shown.items()
             if count > SHOWN_PER_REASON]
    return f'<ul class="{css}">{"".join(rows)}</ul>' if rows else ""


def render_library(records: Sequence[ArticleRecord], query: str = "") -> str:
    """The article table; each row has a delete button (handled by the app's script)."""
    if not records:
        what = "match that search" if query.strip() else "are ingested yet (see the Ingest tab)"
        return f'<div class="nr-note">No articles {what}.</div>'
    rows = "".join(
        f'<tr><td>{link(r.article.url, r.article.title or "Untitled")}</td>'
        f'<td>{escape((r.article.published or "undated")[:10])}</td>'
        f"<td>{escape(r.article.source)}</td><td>{r.n_chunks}</td>"
        f'<td><button type="button" class="nr-delete" data-delete="{escape(r.article.id)}" '
        f'data-title="{escape(r.article.title)}">Delete</button></td></tr>'
        for r in records)
    return (f'<div class="nr-note">{plural(len(records), "article")}</div>'
            '<table class="nr-library"><thead><tr><th>Title</th><th>Date</th><th>Source</th>'
            "<th>Chunks</th><th></th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")
