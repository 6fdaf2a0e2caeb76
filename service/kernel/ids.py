"""Distinct id types, so a site id cannot be passed where a young adult id is expected."""

from typing import NewType
from uuid import UUID

TenantId = NewType("TenantId", UUID)
SiteId = NewType("SiteId", UUID)
PractitionerId = NewType("PractitionerId", UUID)
YoungAdultId = NewType("YoungAdultId", UUID)
EnrolmentId = NewType("EnrolmentId", UUID)
