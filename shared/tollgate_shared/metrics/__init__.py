"""Prometheus metrics: what each process exposes on its management port (DESIGN §10).

`catalogue` names every metric and its labels (what alerts and dashboards rely
on); `http` times requests; `scrape` holds the gauges read when scraped;
`listener` is the management port's HTTP server.
"""
