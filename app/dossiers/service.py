"""The read side's rules: one dossier's current state, and a stored dossier as the API shows it."""

from __future__ import annotations

from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import NotFound
from app.dossiers import repository
from app.dossiers.schemas import DossierOut
from app.models import Dossier
from app.vocabulary import Channel, PaymentChannel, ServiceLevel, Status


async def get_dossier(session: AsyncSession, code: str) -> DossierOut:
    """A dossier's current state; 404 when unknown."""
    dossier = await repository.get_dossier(session, code)
    if dossier is None:
        raise NotFound(f"dossier {code!r} is unknown")
    return dossier_out(dossier)


def dossier_out(dossier: Dossier) -> DossierOut:
    """A stored dossier as the API shows it (`GET /v1/dossiers/{code}` and the lists). Built
    without validation: the row was validated on its way in and the table's constraints hold it
    (validating a page of a thousand rows again would be most of the list's time); the
    table's CHECK constraints hold the vocabularies the casts name."""
    return DossierOut.model_construct(
        code=dossier.code,
        procedure_code=dossier.procedure_code,
        procedure_name=dossier.procedure_name,
        domain_code=dossier.domain_code,
        domain_name=dossier.domain_name,
        unit_code=dossier.unit_code,
        channel=cast(Channel, dossier.channel),
        service_level=cast(ServiceLevel, dossier.service_level),
        status=cast(Status, dossier.status),
        submitted_at=dossier.submitted_at,
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        finished_at=dossier.finished_at,
        returned_at=dossier.returned_at,
        fee_amount=dossier.fee_amount,
        paid_online=cast(PaymentChannel, dossier.paid_online),
        digitized=dossier.digitized,
        reused_data=dossier.reused_data,
        e_result=dossier.e_result,
        occurred_at=dossier.occurred_at,
        updated_at=dossier.updated_at,
        events=dossier.event_count,
        ended_on=dossier.ended_on,
        paused_days=dossier.paused_days,
        effective_due_on=dossier.effective_due_on,
    )
