"""Bodies of the catalog endpoints (domains, units, procedures)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema

from app.core.validation import Code, LevelInput, Name, StrictInput
from app.vocabulary import UnitLevel


def _alias(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("an alias must not be blank")
    return value


# A unit's other name: not blank, trimmed.
Alias = Annotated[Name, AfterValidator(_alias)]


def _numeric_defaults(schema: dict[str, Any]) -> None:
    """Document decimal defaults as the numbers clients send (pydantic writes `'0.20'`, a
    string, which makes the OpenAPI document invalid), and give the example."""
    for prop in schema.get("properties", {}).values():
        if isinstance(prop.get("default"), str):
            prop["default"] = float(prop["default"])
    schema["examples"] = [{"name": "Tư pháp", "online_target": 0.6}]


class DomainIn(StrictInput):
    """A domain as PUT by an administrator."""

    model_config = ConfigDict(json_schema_extra=_numeric_defaults)

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
    coverage_target: Decimal = Field(
        default=Decimal("0.40"),
        ge=0,
        le=1,
        max_digits=5,
        decimal_places=4,
        description="Target share of the domain's procedures offered online (level 3 or 4), "
        "0–1; default 0.40.",
    )


class DomainOut(BaseModel):
    """A domain of the catalog."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"code": "TP", "name": "Tư pháp", "online_target": 0.6, "coverage_target": 0.4}
            ]
        }
    )

    code: str
    name: str | None
    online_target: float
    coverage_target: float


class UnitIn(StrictInput):
    """A unit as PUT by an administrator."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Xã Đồng Tâm",
                    "parent_code": "282",
                    "level": "commune",
                    "agency_code": "000.28.31.H26",
                    "aliases": ["UBND xã Đồng Tâm", "Bộ phận một cửa xã Đồng Tâm"],
                }
            ]
        }
    )

    name: Name = Field(description="Unit name.")
    parent_code: Code | None = Field(default=None, description="The unit above it, or null.")
    level: UnitLevel = Field(description="province | district | commune")
    agency_code: Code | None = Field(
        default=None,
        description="The national agency id (e.g. `000.28.31.H26`) that sync records may send "
        "in `DonViXuLy` for this unit; unique. Omitted: the stored one is kept; null: cleared.",
    )
    aliases: list[Alias] | None = Field(
        default=None,
        max_length=50,
        description="Other names the national body may send in `DonViXuLy` for this unit "
        "(e.g. `UBND xã Đồng Tâm`), matched after trimming and case folding. Omitted: the "
        "stored ones are kept; null or `[]`: none.",
    )


class UnitOut(BaseModel):
    """A unit of the catalog."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "10444",
                    "name": "Xã Đồng Tâm",
                    "parent_code": "282",
                    "level": "commune",
                    "agency_code": "000.28.31.H26",
                    "aliases": ["UBND xã Đồng Tâm"],
                }
            ]
        }
    )

    code: str
    name: str | None
    parent_code: str | None
    level: UnitLevel | None
    agency_code: str | None = None
    aliases: list[str] = Field(default_factory=list)


class ProcedureIn(StrictInput):
    """A procedure as PUT by an administrator; from then on its values win over events'."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Đăng ký khai sinh",
                    "domain_code": "TP",
                    "service_level": 3,
                    "unit_levels": ["district", "commune"],
                }
            ]
        }
    )

    name: Name = Field(description="Procedure name (TenTTHC).")
    domain_code: Code = Field(description="A domain of the catalog (MaLinhVuc).")
    service_level: LevelInput = Field(
        description="Online service level (MucDo): 2, 3, 4, or offline, partial, full."
    )
    unit_levels: list[UnitLevel] = Field(
        default_factory=list,
        max_length=3,
        description="The administrative levels that handle the procedure.",
    )
    full_online_eligible: StrictBool | None = Field(
        default=None,
        description="Eligible for fully online service (the `full_online` indicator counts its"
        " dossiers). Omitted: the stored choice stays; null: back to the default, true exactly"
        " when `service_level` is 4.",
    )


class ProcedureOut(BaseModel):
    """A procedure of the catalog."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "1.001193",
                    "name": "Đăng ký khai sinh",
                    "domain_code": "TP",
                    "service_level": 3,
                    "unit_levels": ["commune"],
                    "from_catalog": True,
                    "full_online_eligible": False,
                    "full_online_eligible_set": False,
                }
            ]
        }
    )

    code: str
    name: str | None
    domain_code: str
    service_level: int
    unit_levels: list[str]
    from_catalog: bool = Field(description="True once PUT; false while known only from events.")
    full_online_eligible: bool = Field(
        default=False,
        description="Eligible for fully online service: the catalog's choice, else (default)"
        " true exactly when `service_level` is 4.",
    )
    full_online_eligible_set: bool = Field(
        default=False, description="True when the catalog chose `full_online_eligible`."
    )
