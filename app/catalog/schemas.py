"""Bodies of the catalog endpoints (domains, units, procedures)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from app.validation import Code, Name, StrictInput

UnitLevel = Literal["province", "district", "commune"]


class DomainIn(StrictInput):
    """A domain as PUT by an administrator."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Tư pháp", "online_target": 0.6}]}
    )

    name: Name = Field(description="Domain name (TenLinhVuc).")
    # Documented as the number clients send (a decimal string is accepted, not advertised).
    online_target: Annotated[
        Decimal, WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1, "default": 0.2})
    ] = Field(
        default=Decimal("0.20"),
        ge=0,
        le=1,
        max_digits=5,
        decimal_places=4,
        description="Target share of online filing, 0–1; default 0.20.",
    )


class DomainOut(BaseModel):
    """A domain of the catalog."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "TP", "name": "Tư pháp", "online_target": 0.6}]}
    )

    code: str
    name: str | None
    online_target: float


class UnitIn(StrictInput):
    """A unit as PUT by an administrator."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Xã Đồng Tâm", "parent_code": "282", "level": "commune"}]
        }
    )

    name: Name = Field(description="Unit name.")
    parent_code: Code | None = Field(default=None, description="The unit above it, or null.")
    level: UnitLevel = Field(description="province | district | commune")


class UnitOut(BaseModel):
    """A unit of the catalog."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"code": "10444", "name": "Xã Đồng Tâm", "parent_code": "282", "level": "commune"}
            ]
        }
    )

    code: str
    name: str | None
    parent_code: str | None
    level: UnitLevel | None
