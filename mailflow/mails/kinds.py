"""Every kind of mail mailflow writes, listed once: the mail modules, each declaring the
kinds it writes with a sample context (its `samples()`). A kind is the name of its
templates (templates/<kind>.subject.j2, .txt.j2, .html.j2); check-config renders each
with its sample, so a template that names a value no module gives fails there."""

from __future__ import annotations

from typing import Any

from . import (alerts, answers, calendarnote, compliance, digests, meeting, monthly, notices,
               reminders, transition, weekly)

MODULES = (reminders, notices, digests, weekly, compliance, monthly, meeting, calendarnote,
           alerts, answers, transition)
# What every mail's context has besides its own (mails/letters.py common()).
COMMON_SAMPLE = {"company": "示例销售有限公司", "hr": "hr@example.com", "title": "sample"}


def sample_contexts() -> dict[str, dict[str, Any]]:
    return {kind: {**COMMON_SAMPLE, **context}
            for module in MODULES for kind, context in module.samples().items()}


KINDS: tuple[str, ...] = tuple(sample_contexts())
