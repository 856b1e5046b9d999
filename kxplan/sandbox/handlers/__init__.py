"""Thin HTTP handlers, one module per resource (moto's responses.py): unwrap the body, call
the model facade, present the rows. `kxplan.sandbox.routes` gathers their `ROUTES`.

Each handler takes the model and a `Request` and returns a `Response` (`base`). They run
inside one store transaction (see `server.py`), so a handler never leaves a half-done write.
"""
