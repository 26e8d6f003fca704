"""The read API's built-in pipeline dashboard, for when no Prometheus runs.

``targets`` finds the services' metrics endpoints, ``scrape`` reads them, ``readings`` reduces a
scrape to the few numbers the page charts, ``history`` keeps recent readings and turns them into
windowed increases, ``figures`` into rates and quantiles, ``sampler`` takes readings in the
background, ``queries`` reads the database side (latest articles, top entities). The HTTP side is
``services.api.routes.dashboard``.
"""
