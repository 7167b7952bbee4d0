"""The reference catalog every installation starts with (Hà Nội, Mỹ Đức and its communes)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# (code, name, online target): justice and business registration carry the 60% target.
DOMAINS: list[tuple[str, str, str]] = [
    ("TP", "Tư pháp", "0.60"),
    ("DKKD", "Đăng ký kinh doanh", "0.60"),
    ("DD", "Đất đai", "0.20"),
    ("XD", "Xây dựng", "0.20"),
    ("LDTBXH", "Lao động - Thương binh và Xã hội", "0.20"),
    ("GDDT", "Giáo dục và Đào tạo", "0.20"),
    ("YT", "Y tế", "0.20"),
    ("VHTT", "Văn hóa, Thể thao và Du lịch", "0.20"),
    ("TNMT", "Tài nguyên và Môi trường", "0.20"),
    ("NN", "Nông nghiệp và Phát triển nông thôn", "0.20"),
]

COMMUNES: list[tuple[str, str]] = [
    ("10441", "Thị trấn Đại Nghĩa"),
    ("10444", "Xã Đồng Tâm"),
    ("10447", "Xã Thượng Lâm"),
    ("10450", "Xã Tuy Lai"),
    ("10453", "Xã Phúc Lâm"),
    ("10456", "Xã Mỹ Thành"),
    ("10459", "Xã Bột Xuyên"),
    ("10462", "Xã An Mỹ"),
    ("10465", "Xã Hồng Sơn"),
    ("10468", "Xã Lê Thanh"),
    ("10471", "Xã Xuy Xá"),
    ("10474", "Xã Phùng Xá"),
    ("10477", "Xã Phù Lưu Tế"),
    ("10480", "Xã Đại Hưng"),
    ("10483", "Xã Vạn Kim"),
    ("10486", "Xã Đốc Tín"),
    ("10489", "Xã Hương Sơn"),
    ("10492", "Xã Hùng Tiến"),
    ("10495", "Xã An Tiến"),
    ("10498", "Xã Hợp Tiến"),
    ("10501", "Xã Hợp Thanh"),
    ("10504", "Xã An Phú"),
]

# (code, name, parent, level), parents before children.
UNITS: list[tuple[str, str, str | None, str]] = [
    ("01", "Thành phố Hà Nội", None, "province"),
    ("282", "Huyện Mỹ Đức", "01", "district"),
    *[(code, name, "282", "commune") for code, name in COMMUNES],
]

_SEED_DOMAIN = text(
    "INSERT INTO domains (code, name, online_target) VALUES (:code, :name, CAST(:target AS numeric))"
    " ON CONFLICT (code) DO NOTHING"
)
_SEED_UNIT = text(
    "INSERT INTO units (code, name, parent_code, level) VALUES (:code, :name, :parent, :level)"
    " ON CONFLICT (code) DO NOTHING"
)


async def seed_catalog(session: AsyncSession) -> None:
    """Insert the reference catalog; rows that already exist (maybe edited) are left alone."""
    await session.execute(
        _SEED_DOMAIN, [{"code": c, "name": n, "target": t} for c, n, t in DOMAINS]
    )
    await session.execute(
        _SEED_UNIT, [{"code": c, "name": n, "parent": p, "level": lv} for c, n, p, lv in UNITS]
    )
