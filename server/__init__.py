"""The web layer over :mod:`kg`: the SPARQL 1.1 endpoint, guarded writes, linked data and pages.

    cli          the ``alatau-kg`` command line (above the library and the web layer)
    deploy       the process model: engine, writers, granian or waitress (``serve``)
    app          the app factory, ``create_app(settings, engine, writer)``
    pages        pages for people: home, resources, ontology, search, query page, charts
    linked       linked data: dereferencing, ``/data/…``, the dataset description and dumps
    sparql       the SPARQL 1.1 Protocol query operation and the service description
    writes       guarded writes: Update, the Graph Store Protocol, ``/validate``, the change log
    ops          routes about the service itself (``/-/health``, ``/-/version``)
    core         what every route shares: context, errors (one JSON shape), negotiation, languages,
                 limits, CORS

Each layer imports only the layers below it (``make lint`` checks this with import-linter); ``kg``
never imports this package.
"""
