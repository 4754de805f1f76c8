"""The application layer: settings, the composition root and the one start path.

It owns the settings, read in one place (config), the Services that build every part once per
process (services), and Generations, through which the page, the prompt lab, the API, the MCP tool
and the command line all start work (generations; an identical request still starting is attached to
it: attach), and the workbench of re-runs, verdicts and exports (workbench, exports). It may import every package below it (`core`,
`media`, `store`, `providers`, `web`, `jobs`, `policy`); only `ui` and the entry points import it.
"""
