"""The UI's stylesheet and the small scripts its HTML panes run (no CDN, no external fonts)."""

CSS = """
.nr-header { display: flex; align-items: baseline; gap: .75rem; }
.nr-header h1 { font-size: 1.4rem; margin: 0; }
.nr-header .nr-status { color: var(--body-text-color-subdued); font-size: .9rem; }
.nr-empty, .nr-note { color: var(--body-text-color-subdued); font-size: .9rem; }
.nr-transcript { display: flex; flex-direction: column; gap: 1rem; }
.nr-turn { display: flex; flex-direction: column; gap: .4rem; }
.nr-q { align-self: flex-end; max-width: 85%; background: var(--color-accent-soft);
        border-radius: 12px; padding: .5rem .8rem; white-space: pre-wrap; }
.nr-who { display: none; }
.nr-a { max-width: 95%; border: 1px solid var(--border-color-primary); border-radius: 12px;
        padding: .6rem .9rem; background: var(--background-fill-secondary); }
.nr-text { margin: 0 0 .4rem 0; line-height: 1.55; white-space: pre-wrap; }
.nr-streaming .nr-cursor::after { content: "▍"; animation: nr-blink 1s steps(2) infinite; }
@keyframes nr-blink { to { visibility: hidden; } }
.nr-refused { border-style: dashed; background: var(--background-fill-primary); }
.nr-badge { display: inline-block; font-size: .75rem; font-weight: 600; border-radius: 6px;
            padding: 0 .4rem; margin-right: .5rem; }
.nr-badge-refused { background: #fde68a; color: #713f12; }
.nr-error { border: 1px solid #f87171; background: #fef2f2; color: #991b1b;
            border-radius: 12px; padding: .6rem .9rem; }
button.nr-marker, button.nr-cite-open { border: none; background: none; padding: 0 .1rem;
            color: var(--color-accent); cursor: pointer; font: inherit; font-weight: 600;
            line-height: 1; }
button.nr-marker:hover, button.nr-cite-open:hover { text-decoration: underline; }
.nr-citations { margin: .3rem 0 0 0; padding-left: 0; list-style: none; font-size: .88rem; }
.nr-citation { margin: .35rem 0; }
.nr-cite-title { font-weight: 600; }
.nr-meta { color: var(--body-text-color-subdued); font-size: .85rem; }
.nr-quote { margin: .2rem 0 0 1.6rem; padding-left: .6rem; font-style: italic;
            border-left: 3px solid var(--border-color-primary); }
.nr-short { margin: 0 0 .4rem 0; font-size: 1.15rem; line-height: 1.45; }
.nr-short-sentence { font-size: 1rem; }
.nr-quoted { cursor: pointer; }
.nr-quote .nr-hl { font-style: normal; }
.nr-window { margin: .2rem 0; }
.nr-closest ul { margin: .2rem 0 0 0; padding-left: 1.2rem; }
.nr-checks { margin-top: .5rem; padding-top: .4rem; font-size: .85rem;
             border-top: 1px dashed var(--border-color-primary); }
.nr-check-table th { text-align: left; padding-right: .6rem; vertical-align: top;
                     color: var(--body-text-color-subdued); font-weight: 600; }
.nr-candidates, .nr-grounding { margin: 0; padding-left: 1.2rem; }
.nr-s-quoted .nr-check, .nr-s-supported .nr-check { color: #15803d; }
.nr-s-reattributed .nr-check { color: #b45309; }
.nr-s-unsupported { background: #fef3c7; }
.nr-s-unsupported .nr-check { color: #b45309; }
.nr-s-dropped { text-decoration: line-through; color: var(--body-text-color-subdued); }
.nr-s-dropped .nr-check { color: #b91c1c; }
.nr-check { font-size: .7rem; font-weight: 600; margin-left: .25rem; text-transform: uppercase;
            text-decoration: none; display: inline-block; }
.nr-pane { max-height: 70vh; overflow-y: auto; }
.nr-article h3 { margin: .2rem 0; }
.nr-article p { line-height: 1.55; }
.nr-pane-label { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em;
                 color: var(--body-text-color-subdued); }
mark.nr-cited { background: #fde047; color: #111; padding: 0 .1rem; border-radius: 3px; }
.nr-sources, .nr-library { width: 100%; border-collapse: collapse; font-size: .88rem; }
.nr-sources td, .nr-sources th, .nr-library td, .nr-library th {
    text-align: left; padding: .3rem .4rem; border-bottom: 1px solid var(--border-color-primary); }
.nr-score { font-variant-numeric: tabular-nums; }
.nr-report { border-left: 4px solid #16a34a; padding: .4rem .8rem; }
.nr-report-warn { border-left: 4px solid #d97706; padding: .4rem .8rem; }
button.nr-delete { border: 1px solid #f87171; color: #b91c1c; background: none;
                   border-radius: 6px; padding: .1rem .5rem; cursor: pointer; }
"""

# Clicks on [n] markers and numbered citations (delegated: the pane is re-rendered while an
# answer streams) trigger the component's click event with the turn and citation number.
TRANSCRIPT_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-cite]');
  if (!button) return;
  trigger('click', {turn: Number(button.dataset.turn), n: Number(button.dataset.cite)});
});
"""

# Brings the highlighted sentence into view whenever the source pane changes.
SOURCE_PANE_JS = """
watch('value', () => {
  const mark = element.querySelector('mark.nr-cited');
  if (mark) mark.scrollIntoView({block: 'center'});
});
"""

LIBRARY_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-delete]');
  if (!button) return;
  if (window.confirm('Delete \\u201c' + button.dataset.title + '\\u201d and its chunks?')) {
    trigger('click', {delete: button.dataset.delete});
  }
});
"""
