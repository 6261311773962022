"""The web layer: the SPARQL 1.1 endpoint, the query page and introspection routes, over :mod:`kg`.

``server.app.create_app(settings, engine=None)`` builds the Flask app; ``server.app.serve(settings)``
runs it (gunicorn worker processes, :mod:`server.deploy.gunicorn`; waitress in the one-process writable mode) with
a supervised Oxigraph engine. ``kg`` never imports this package.
"""
