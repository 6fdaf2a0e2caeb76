"""The support-network part of a young adult's record (mixed into YoungAdult in service/records/api.py).

Kept apart from service/network/api.py, which imports the YoungAdult type: the mixin names its types lazily so the
record can include the network without an import cycle.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry

from service.api.context import Info
from service.network import loaders

if TYPE_CHECKING:
    from service.network.api import NetworkMember


@strawberry.type
class YoungAdultNetwork:
    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The people in the young adult's support network, in the order they were found. "
                                  "Contact details follow need-to-know (see NetworkMember).")
    async def network_members(self, info: Info,
                              ) -> list[Annotated[NetworkMember, strawberry.lazy("service.network.api")]]:
        from service.network.api import NetworkMember

        return [NetworkMember.from_row(r) for r in await loaders.members_of(info.context).load(self.raw_id)]
