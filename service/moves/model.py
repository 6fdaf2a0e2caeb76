"""Declaration (service/api/model.py) of a young adult's moves: showing them records a view of the young adult's
moves (the object's id is the young adult's). No SQL declared: answered by the ordinary resolvers."""

from __future__ import annotations

from service.api.model import Consulted, TypeModel

MODELS = (TypeModel("YoungAdultMoves", consulted=Consulted("{t}.id", young_adult_attr="raw_id")),)
