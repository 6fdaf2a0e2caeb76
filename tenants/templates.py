"""The practice-rule templates a tenant can be onboarded from.

Onboarding stores the chosen name on the tenant (``control.tenant.rule_template``); the practice-rules feature
copies the template's rules into the tenant. A name not listed here is refused at onboarding.
"""

from __future__ import annotations

from service.kernel.errors import InvalidInput

RULE_TEMPLATES: dict[str, str] = {
    "west-midlands-pilot": "The rules of the West Midlands pilot (Birmingham, Coventry, Wolverhampton).",
    "defaults": "The platform's default rules, for a tenant that will set its own.",
}
DEFAULT_TEMPLATE = "defaults"


def validate_template(name: str) -> str:
    if name not in RULE_TEMPLATES:
        raise InvalidInput(f"Unknown rule template; choose one of: {', '.join(RULE_TEMPLATES)}.",
                           field="rule_template")
    return name
