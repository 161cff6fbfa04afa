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
button.nr-delete, button.nr-delete-picked {
    border: 1px solid #f87171; color: #b91c1c; background: none; border-radius: 6px;
    padding: .1rem .5rem; cursor: pointer; }
/* Layout: the transcript scrolls on its own, the question box stays in the viewport under
   it, the source pane stays in view beside it (over the page on a narrow screen). */
#nr-transcript { height: calc(100vh - 330px); min-height: 200px; overflow-y: auto !important;
                 overscroll-behavior: contain; padding-right: .3rem; }
#nr-side { position: sticky; top: .5rem; align-self: flex-start;
           max-height: calc(100vh - 1rem); overflow-y: auto; }
#nr-source { max-height: 62vh; overflow-y: auto !important; }
#nr-sources { max-height: 28vh; overflow: auto !important; }
#nr-input-row { flex-wrap: nowrap; align-items: center; }
#nr-input-row button { min-width: 0; }
.nr-inline-error { color: #b91c1c; font-size: .88rem; padding: .1rem .2rem; }
.nr-brief-item { margin: .8rem 0; }
.nr-brief-meta, .nr-brief-cite { color: var(--body-text-color-subdued); font-size: .85rem; }
.nr-brief-line { margin: .2rem 0; padding-left: .6rem; border-left: 3px solid
                 var(--color-accent-soft); }
.nr-brief-update, .nr-later { color: #92400e; font-size: .88rem; }
.nr-examples { display: flex; flex-wrap: wrap; gap: .4rem; }
button.nr-example { border: 1px solid var(--border-color-primary); border-radius: 999px;
                    padding: .2rem .75rem; background: var(--background-fill-secondary);
                    cursor: pointer; font-size: .85rem; text-align: left; color: inherit; }
button.nr-example:hover { border-color: var(--color-accent); }
.nr-card { margin: .35rem 0; padding: .35rem .6rem; border: 1px solid var(--border-color-primary);
           border-radius: 8px; background: var(--background-fill-primary); }
.nr-card-cites { list-style: none; margin: .1rem 0 0 0; padding: 0; }
.nr-card .nr-citation { margin: .15rem 0; display: flex; gap: .3rem; align-items: baseline; }
.nr-card .nr-quote { margin: 0; }
.nr-card .nr-citation:not(:has(blockquote)) { display: inline-flex; margin-right: .3rem; }
.nr-card .nr-citation[aria-current] { background: var(--color-accent-soft); border-radius: 4px; }
.nr-searched { font-style: italic; margin-bottom: .2rem; }
.nr-tools { display: flex; gap: .4rem; justify-content: flex-end; }
button.nr-copy { border: none; background: none; color: var(--body-text-color-subdued);
                 font-size: .8rem; cursor: pointer; padding: 0 .2rem; }
button.nr-copy:hover { color: var(--color-accent); }
button.nr-close { display: none; border: 1px solid var(--border-color-primary);
                  border-radius: 6px; background: none; padding: .1rem .6rem; cursor: pointer;
                  color: inherit; float: right; }
.nr-history label { width: 100%; }
button.nr-read { border: none; background: none; padding: 0; color: var(--color-accent);
                 cursor: pointer; font: inherit; text-align: left; }
button.nr-read:hover { text-decoration: underline; }
.nr-library-bar { display: flex; justify-content: space-between; align-items: center; }
#nr-reader { max-height: 75vh; overflow-y: auto !important; }
@media (max-width: 760px) {
  #nr-transcript { height: calc(100vh - 380px); }
  #nr-side { position: fixed; left: 0; right: 0; bottom: 0; top: auto; z-index: 1000;
             max-height: 85vh; margin: 0; padding: .8rem; border-radius: 14px 14px 0 0;
             background: var(--background-fill-primary); box-shadow: 0 -6px 24px #0005;
             visibility: hidden; transform: translateY(105%); transition: transform .2s; }
  #nr-side.nr-open { visibility: visible; transform: none; }
  #nr-source { max-height: 55vh; }
  button.nr-close { display: inline-block; position: sticky; top: 0; z-index: 1;
                    background: var(--background-fill-primary); }
  .nr-sources td:first-child, .nr-sources th:first-child { display: none; }
}
"""

# Clicks on [n] markers and citations (delegated: the pane is re-rendered while an answer
# streams) trigger the component's click event with the turn and citation number; Copy copies
# an answer's text and sources. A new question or streamed text keeps the end in view; other
# re-renders (show checks) keep the reader's place.
TRANSCRIPT_JS = """
const box = () => element.closest('#nr-transcript') || element;
let turns = 0;
// On a phone the history sidebar starts closed (its toggle opens it over the page).
if (window.matchMedia('(max-width: 760px)').matches) {
  let tries = 0;
  const close = () => {
    const bar = document.querySelector('#nr-sidebar');
    if (bar && bar.classList.contains('open')) bar.querySelector('.toggle-button').click();
    else if (!bar && tries++ < 40) setTimeout(close, 50);
  };
  close();
}
element.addEventListener('click', (event) => {
  const copy = event.target.closest('[data-copy]');
  if (copy) {
    const turn = element.querySelector('.nr-turn[data-turn="' + copy.dataset.copy + '"] .nr-a');
    const text = turn ? turn.innerText.replace(/\\n?Copy$/, '').trim() : '';
    const done = () => {
      copy.textContent = 'Copied';
      setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => {});
    return;
  }
  const button = event.target.closest('[data-cite]');
  if (!button) return;
  trigger('click', {turn: Number(button.dataset.turn), n: Number(button.dataset.cite)});
});
watch('value', () => {
  const scroller = box();
  const count = element.querySelectorAll('.nr-turn').length;
  const streaming = element.querySelector('.nr-streaming');
  if (count !== turns || streaming) scroller.scrollTop = scroller.scrollHeight;
  turns = count;
});
"""

# Whenever the source pane changes: on a narrow screen it opens over the page; the highlighted
# sentence is scrolled to the middle of the pane, scrolling only the pane (never the page or
# the transcript).
SOURCE_PANE_JS = """
const side = () => document.getElementById('nr-side');
const narrow = () => window.matchMedia('(max-width: 760px)').matches;
element.addEventListener('click', (event) => {
  if (event.target.closest('.nr-close') && side()) side().classList.remove('nr-open');
});
watch('value', () => {
  const pane = element.closest('#nr-source') || element;
  if (narrow() && side() && element.querySelector('.nr-article')) side().classList.add('nr-open');
  const mark = element.querySelector('mark.nr-cited');
  if (!mark) { pane.scrollTop = 0; return; }
  const r = mark.getBoundingClientRect(), p = pane.getBoundingClientRect();
  pane.scrollTop += (r.top - p.top) - Math.max(0, (pane.clientHeight - r.height) / 2);
});
"""

# Before a question is sent, the date fields' text as typed: the date picker keeps its last
# valid value when something like "June 2022" is typed, and the server should say so rather
# than ask with a date the user did not mean. The form's last five inputs are since, until,
# sources, checks, as of.
RAW_DATES_JS = """
(...args) => {
  const typed = (id) => {
    const input = document.querySelector('#' + id + ' input');
    return input ? input.value : null;
  };
  const n = args.length;
  [['nr-since', n - 5], ['nr-until', n - 4], ['nr-as-of', n - 1]].forEach(([id, i]) => {
    const value = typed(id);
    if (value !== null) args[i] = value;
  });
  return args;
}
"""

# Example questions ask on click.
EXAMPLES_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-example]');
  if (button) trigger('click', {question: button.dataset.example});
});
"""

LIBRARY_JS = """
element.addEventListener('click', (event) => {
  const read = event.target.closest('[data-read]');
  if (read) { trigger('click', {read: read.dataset.read}); return; }
  if (event.target.closest('.nr-delete-picked')) {
    const ids = [...element.querySelectorAll('input.nr-pick:checked')].map((box) => box.value);
    const question = 'Delete ' + ids.length + ' selected article(s) and their chunks?';
    if (ids.length && window.confirm(question)) {
      trigger('click', {delete_many: ids.join(',')});
    }
    return;
  }
  const button = event.target.closest('[data-delete]');
  if (!button) return;
  if (window.confirm('Delete \\u201c' + button.dataset.title + '\\u201d and its chunks?')) {
    trigger('click', {delete: button.dataset.delete});
  }
});
"""
