"""What every resolver gets as ``info.context``: the request's unit of work (service.kernel.work)."""

from __future__ import annotations

import strawberry

from service.kernel.work import UnitOfWork

Info = strawberry.Info[UnitOfWork, None]
