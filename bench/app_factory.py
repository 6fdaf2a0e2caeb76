"""`uvicorn --factory bench.app_factory:app`: the service's app from the environment, for the benchmarks."""

from starlette.applications import Starlette

from service.app.asgi import create_app
from service.kernel.database import Database
from service.kernel.settings import Settings


def app() -> Starlette:
    return create_app(Database.connect(Settings.from_env()))
