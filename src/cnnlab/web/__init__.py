"""``cnnlab serve``: the local web page — a FastAPI app over the library (docs/web.md).

The page (``web/static``, plain ES modules) only shows what the Python side computes; the HTTP
contract is docs/web-api.md. Import :func:`cnnlab.web.app.create_app` to embed the app.
"""
