"""The composition root: builds the schema from the feature packages, hosts both executors behind one request
path, and serves the ASGI application."""
