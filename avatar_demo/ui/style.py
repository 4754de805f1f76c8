"""The page's CSS beyond Gradio's theme: the run panel in view, results at their own size, frames that scroll alone."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
/* The header: one line of title, one of notes. */
#title h1 { font-size: 1.5rem; margin: 0; display: inline; }
#title p { display: inline; margin: 0 0 0 .75em; color: var(--body-text-color-subdued); }
.note, .note p { font-size: var(--text-sm); color: var(--body-text-color-subdued); }
#keys-note p { margin: 0; }
.subhead p { margin: .6em 0 0; }

/* The run panel (button, status, result) stays in view while the inputs beside it scroll. */
@media (min-width: 800px) {
  .run-panel { position: sticky; top: 8px; align-self: flex-start; }
}
#actions { gap: 8px; }
#generate, #history-again, #lab-go { min-height: 48px; font-size: var(--text-lg); }
#generate:disabled, #history-again:disabled, #lab-go:disabled { opacity: .65; cursor: progress; }
.status { min-height: 1.5em; }
.status p { margin: .2em 0; }

/* A details toggle: the figures behind plain words, the task id behind a status. */
details.more { font-size: var(--text-sm); color: var(--body-text-color-subdued); margin-top: .25em; }
details.more summary { cursor: pointer; width: max-content; }
details.more ul { margin: .25em 0 0 1.2em; padding: 0; }

/* A result is shown at its own size, never blown up, and never taller than the space left on screen. */
.result [data-testid="video"], .result .wrap, .result .video-container { background: transparent; }
.result video { width: auto !important; max-width: 100%; height: auto !important;
                max-height: max(240px, calc(100vh - 300px)); margin: 0 auto; display: block; object-fit: contain; }
/* Beside the History table, Re-run brings its button up as far as the page allows; the result under it is kept
   to the height left on screen, so the button, the status and the result are in view together. */
@media (min-width: 800px) {
  #rerun-result video { max-height: max(240px, calc(100vh - 480px)); }
}

/* Gradio leaves an empty corner toolbar on an empty photo box: a stray 3 px mark. */
.icon-button-wrapper:not(:has(*)) { display: none; }
/* The player's controls are as wide as the video they play. */
.result .wrap:has(> .mirror-wrap) { width: fit-content; max-width: 100%; margin: 0 auto; }
/* The result's download button sits under it, not on it. */
.result [data-testid="download-div"] .icon-button-wrapper { position: static; margin: 4px 0 0 auto;
                                                           width: max-content; }
/* A re-run's result place is not shown before there is a result, except while one is on its way: its place is
   kept then, so the button can be brought to the top with the status and the result under it. */
#rerun-result:not(:has(video)) { display: none; }
body:has(#history-again:disabled) #rerun-result { display: block; min-height: max(240px, calc(100vh - 480px)); }

/* The examples: a row of cards, each a thumbnail and two short lines. */
.examples { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.examples-head { font-size: var(--text-sm); color: var(--body-text-color-subdued); margin-right: 4px; }
.examples .example { display: flex; gap: 8px; align-items: center; padding: 4px 10px 4px 4px; text-align: left;
                     border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg);
                     background: var(--background-fill-primary); cursor: pointer; max-width: 100%; }
.examples .example:hover { border-color: var(--color-accent); }
.examples .example img { width: 48px; height: 48px; object-fit: cover; border-radius: var(--radius-md); flex: none; }
.examples .example span { display: flex; flex-direction: column; line-height: 1.25; min-width: 0; }
.examples .example small { color: var(--body-text-color-subdued); }

/* Frames that scroll on their own: the history table and the lab's cards never widen the page. */
.frame { max-height: 70vh; overflow: auto; border: 1px solid var(--border-color-primary);
         border-radius: var(--radius-lg); max-width: 100%; }
table.history { width: 100%; border-collapse: collapse; font-size: var(--text-sm); border: 0 !important; margin: 0; }
table.history th { position: sticky; top: 0; background: var(--background-fill-secondary); z-index: 1; }
table.history td, table.history th { padding: 6px 8px; border: none; vertical-align: top; text-align: left;
                                     border-bottom: 1px solid var(--border-color-primary); }
table.history video { width: 200px; max-width: 100%; }
table.history tr { border: 0; }
table.history td.col-mode, table.history td.col-run { white-space: nowrap; }
table.history td.col-cost { min-width: 4em; }
button.pick { margin-left: 4px; padding: 1px 8px; border-radius: var(--radius-md); font-size: var(--text-xs);
              border: 1px solid var(--border-color-primary); background: var(--button-secondary-background-fill); }
#history-filters, #lab-verdict-row { align-items: flex-end; }
.empty { color: var(--body-text-color-subdued); }
.lab-grid .shared { font-size: var(--text-sm); color: var(--body-text-color-subdued); margin: 0 0 6px; }
.lab-grid .cards { display: grid; gap: 10px; padding: 10px;
                   grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); }
.lab-grid .cards.matrix { grid-template-columns: repeat(var(--across), minmax(240px, 400px)); }
.lab-grid .card { border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg); padding: 8px;
                  background: var(--background-fill-primary); min-width: 0; }
.lab-grid .card-head { display: flex; flex-direction: column; font-size: var(--text-sm); line-height: 1.3; }
.lab-grid .card-head small { color: var(--body-text-color-subdued); }
/* While a batch starts, its place is kept, so the page can bring it into view at once. */
body:has(#lab-go:disabled) #lab-grid { min-height: calc(100vh - 120px); }
.lab-grid video { display: block; width: auto; max-width: 100%; height: auto; max-height: 320px; margin: 6px auto 0;
                  border-radius: var(--radius-md); }
.lab-grid .facts { font-size: var(--text-sm); margin-top: 4px; }
.lab-grid .card-actions { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 4px; }
.lab-grid .rate button { border: none; background: none; padding: 0 1px; font-size: 1.15rem; cursor: pointer;
                         color: var(--border-color-primary); }
.lab-grid .rate button.on { color: #f5a623; }
.lab-grid .again { padding: 1px 8px; border-radius: var(--radius-md); font-size: var(--text-sm);
                   border: 1px solid var(--border-color-primary); background: var(--button-secondary-background-fill); }

/* A long choice ends in an ellipsis before the dropdown's arrow, never under it. */
.wrap-inner input { text-overflow: ellipsis; }

/* Notices are solid, so nothing under them shows through. */
.toast-body { background: var(--background-fill-primary) !important; opacity: 1 !important; }

/* A phone: every row is one column, the history a list of cards, long words wrap. */
@media (max-width: 640px) {
  #title p { display: block; margin: .2em 0 0; }
  .gradio-container { overflow-wrap: anywhere; }
  table.history thead { display: none; }
  table.history, table.history tbody, table.history tr, table.history td { display: block; width: auto; }
  table.history tr { border-bottom: 2px solid var(--border-color-primary); padding: 6px 0; }
  table.history td { border: none; padding: 2px 8px; }
  table.history td::before { content: attr(data-label) ": "; font-weight: 600; }
  table.history td.col-video::before { content: none; }
  table.history video { width: 100%; }
  .lab-grid .cards.matrix { grid-template-columns: 1fr; }
}
"""
