"""The eval report's stylesheet: system fonts only, so the page needs nothing from the network."""

CSS = """
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --soft: #f9fafb; --accent: #2563eb;
        --bad: #b91c1c; --bad-soft: #fee2e2; --warn: #92400e; --warn-soft: #fef3c7;
        --ok: #15803d; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
h1 { font-size: 1.5rem; margin: 0 0 .6rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .6rem; padding-bottom: .3rem;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 0 0 .2rem; }
h4 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted);
     margin: .6rem 0 .3rem; }
h5 { font-size: .8rem; margin: .5rem 0 .2rem; color: var(--muted); }
a { color: var(--accent); text-decoration: none; }
.note, .meta { color: var(--muted); font-size: .85rem; }
.facts { display: flex; flex-wrap: wrap; gap: .5rem 2rem; margin: 0; }
.facts div { display: flex; flex-direction: column; }
.facts dt { font-size: .72rem; text-transform: uppercase; letter-spacing: .05em;
            color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .7rem; border-bottom: 1px solid var(--line);
         vertical-align: top; }
thead th { font-size: .75rem; text-transform: uppercase; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr));
          gap: 1rem; }
figure.chart { margin: 0; padding: .6rem .8rem; border: 1px solid var(--line);
               border-radius: 8px; background: var(--soft); }
figcaption { margin-bottom: .3rem; }
.plots { display: flex; gap: .5rem; align-items: flex-start; }
svg.plot { max-width: 100%; height: auto; display: block; background: #fff;
           border-radius: 4px; }
svg.plot[data-kind="distribution"] { flex: 1 1 230px; }
svg.plot[data-kind="per-question"] { flex: 2 1 460px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .tick, svg .empty { font-size: 10px; fill: var(--muted); }
svg .bin { fill: #60a5fa; }
svg .bar { fill: var(--accent); }
svg .na { fill: #d1d5db; }
svg .hit { fill: transparent; }
svg .case:hover .hit { fill: rgba(37, 99, 235, .08); }
svg .ci { fill: rgba(245, 158, 11, .18); }
svg .mean { stroke: #d97706; stroke-width: 1.5; stroke-dasharray: 4 3; }
article.case { border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem;
               margin: 0 0 1rem; }
.split { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.5rem; }
.chips { display: flex; flex-wrap: wrap; gap: .3rem; margin: .4rem 0; }
.chip { font-size: .75rem; background: var(--soft); border: 1px solid var(--line);
        border-radius: 999px; padding: 0 .5rem; }
.badge { display: inline-block; font-size: .7rem; font-weight: 600; border-radius: 4px;
         padding: 0 .35rem; margin-left: .3rem; vertical-align: middle;
         background: var(--line); color: var(--ink); }
.badge.bad { background: var(--bad-soft); color: var(--bad); }
.badge.warn, .badge.refused { background: var(--warn-soft); color: var(--warn); }
ol.sentences { padding-left: 1.3rem; margin: 0; }
.sentence { margin: 0 0 .6rem; padding: .2rem .4rem; border-radius: 4px; }
.sentence.unsupported { background: var(--bad-soft); border-left: 3px solid var(--bad); }
.sentence.supported { border-left: 3px solid #86efac; }
.sentence .text { white-space: pre-wrap; }
sup.cite { color: var(--accent); font-weight: 600; margin-left: .1rem; }
sup.cite.irrelevant { color: var(--muted); text-decoration: line-through; }
ul.claims { list-style: none; padding: 0; margin: .2rem 0 0; font-size: .82rem; }
.claim { color: var(--muted); }
.claim .prob { font-variant-numeric: tabular-nums; font-weight: 600; }
.claim.ok .prob { color: var(--ok); }
.claim.bad .prob { color: var(--bad); }
ol.cited, ol.contexts, ul.cited { padding-left: 1.6rem; margin: 0; font-size: .85rem; }
ol.cited li, ol.contexts li, ul.cited li { margin-bottom: .35rem; }
details summary { cursor: pointer; color: var(--muted); }
details[open] summary { margin-bottom: .2rem; }
.passage { margin: 0; white-space: pre-wrap; max-height: 16rem; overflow-y: auto;
           background: var(--soft); padding: .4rem .5rem; border-radius: 4px; }
mark { background: #fde047; color: #111; border-radius: 2px; padding: 0 .1rem; }
table.settings code { font-size: .82rem; white-space: pre-wrap; overflow-wrap: anywhere; }
@media (max-width: 800px) {
  main { padding: 1rem; }
  .split { grid-template-columns: 1fr; }
  .charts { grid-template-columns: 1fr; }
  .plots { flex-direction: column; }
}
"""
