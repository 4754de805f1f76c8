"""The app's HTTP side, apart from Gradio's page: what gateways and browsers reach, and what we fetch.

It owns the gateway callback route (callbacks), the routes that serve stored videos and published
media (files), publishing media where a URL-only gateway can fetch it (hosting), fetching finished
videos (download) and running an ASGI app on a loopback port (serving). It may import `core`,
`store` and the shared HTTP settings of `providers.http`; it never imports `jobs`, `app` or `ui`.
"""
