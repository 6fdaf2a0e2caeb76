"""What every resolver gets: who is asking, their tenant session, per-request DataLoaders, the request id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from service.db import Database
from service.kernel import telemetry
from service.kernel.audit import ConsultLog
from service.kernel.errors import AccessDenied
from service.kernel.principal import Principal
from service.kernel.session import TenantSession

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Context:
    principal: Principal
    db: Database
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    session: TenantSession | None = None
    consults: ConsultLog = field(default_factory=ConsultLog)
    # Per-request memo for values several resolvers need once (e.g. the caller's scope in the tenant).
    extras: dict[str, Any] = field(default_factory=dict)
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)

    def tenant(self) -> TenantSession:
        """The tenant session, for principals whose role reads case data. Platform administrators and national
        analysts have none: their requests never reach a tenant schema."""
        if self.session is None:
            raise AccessDenied("This operation needs a tenant user; your role sees no case data.")
        return self.session

    def loader(self, name: str, load: Callable[[TenantSession], Callable[[list[K]], Any]]) -> DataLoader[K, V]:
        """One DataLoader per name per request, bound to this request's tenant session (so keys are per tenant)."""
        found = self._loaders.get(name)
        if found is None:
            batch = load(self.tenant())

            async def traced(keys: list[K]) -> Any:
                # One span per batch (the point of a DataLoader), never one per key or per field.
                with telemetry.span("dataloader.batch", {"dataloader.name": name,
                                                          "dataloader.batch_size": len(keys)}):
                    return await batch(keys)

            found = DataLoader(load_fn=traced)
            self._loaders[name] = found
        return found


Info = strawberry.Info[Context, None]
