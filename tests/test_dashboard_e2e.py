"""/dashboard end to end: a live server, headless Chromium (Debian's), and the figures the page
shows compared with what GET /v1/stats/online-ratio answers for the same choices.

Skipped where /usr/bin/chromium (or the playwright package) is missing."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.config import Settings
from app.main import create_app
from tests.conftest import MakeKey, bearer, event

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(os.environ.get("DASHBOARD_SCREENSHOT", "/tmp/dashboard.png"))

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
async_api = pytest.importorskip("playwright.async_api", reason="the playwright package is missing")

# (unit, online share): the province lies outside Mỹ Đức (282), the others inside it.
UNITS = [("282", 0.9), ("10441", 0.75), ("10444", 0.5), ("10447", 0.3), ("01", 0.6)]
DOMAINS = [("TP", "Tư pháp", 0.05), ("DKKD", "Đăng ký kinh doanh", -0.2), ("DD", "Đất đai", -0.3)]
MONTHS = [1, 2, 3, 4, 9]


def dataset() -> list[dict[str, Any]]:
    """Dossiers over several units, domains and months with online shares that differ by all
    three, levels 2 to 4, and a few not yet received (which never count)."""
    events = []
    for u, (unit, share) in enumerate(UNITS):
        for d, (domain, name, shift) in enumerate(DOMAINS):
            for month in MONTHS:
                total = 3 + (u + d + month) % 4
                online = max(0, min(total, round(total * (share + shift + month / 40))))
                for i in range(total):
                    on = i < online
                    level = (4 if i % 2 else 3) if on else (2 if i % 3 == 0 else 3)
                    status = "submitted" if (i == total - 1 and month == 2 and d == 0) else None
                    code = f"E2E-{unit}-{domain}-{month:02d}-{i}"
                    events.append(
                        event(
                            code,
                            code=code,
                            occurred_at=f"2017-{month:02d}-20T09:00:00+07:00",
                            procedure_code=f"T.{domain}.{level}",
                            procedure_name=f"Thủ tục {name} mức {level}",
                            domain_code=domain,
                            domain_name=name,
                            unit_code=unit,
                            channel="online" if on else ("postal" if i % 4 == 3 else "in_person"),
                            service_level=level,
                            status=status or "processing",
                            submitted_at=f"2017-{month:02d}-{1 + i:02d}T08:00:00+07:00",
                            received_at=f"2017-{month:02d}-{1 + i:02d}T10:00:00+07:00",
                            due_at=f"2017-{month:02d}-{15 + i:02d}T17:00:00+07:00",
                        )
                    )
    return events


# What staff choose: period, unit ("" is every unit), basis.
CHOICES = [
    {"from": "2017-01-01", "to": "2017-06-30", "unit": "282", "basis": "online_capable"},
    {"from": "2017-01-01", "to": "2017-12-31", "unit": "", "basis": "all"},
    {"from": "2017-02-01", "to": "2017-04-30", "unit": "10444", "basis": "full_online"},
]


@pytest.fixture(scope="module")
def live_server(settings: Settings) -> Iterator[str]:
    """uvicorn serving create_app(settings) (the test database) on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_config=None, access_log=False, lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def params(choice: dict[str, str], **extra: str) -> dict[str, str]:
    query = {k: v for k, v in choice.items() if v}
    return {**query, **extra}


async def shown(page: Any, selector: str) -> list[dict[str, str]]:
    """The data-* attributes of the elements a selector finds, in document order."""
    rows: list[dict[str, str]] = await page.eval_on_selector_all(
        selector, "els => els.map(e => ({...e.dataset, text: e.textContent}))"
    )
    return rows


def pct(ratio: float) -> str:
    """As the page writes a ratio (vi-VN: decimal comma, one decimal at most)."""
    rounded = Decimal(repr(100 * ratio)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    text = f"{rounded:f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


async def test_dashboard_shows_the_figures_of_the_api(live_server: str, make_key: MakeKey) -> None:
    key = await make_key("ingest", "read")
    async with httpx.AsyncClient(base_url=live_server, headers=bearer(key), timeout=30) as http:
        response = await http.post("/v1/events", json={"events": dataset()})
        assert response.status_code == 200, response.text
        assert not response.json()["rejected"]

        async with async_api.async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=20_000
            )
            try:
                page = await browser.new_page(
                    viewport={"width": 1280, "height": 900}, locale="vi-VN"
                )
                page.set_default_timeout(10_000)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                await page.goto(f"{live_server}/dashboard")

                # A wrong key: the page says so, in Vietnamese, and draws nothing.
                await page.fill("#key", "not-a-key")
                await page.click("button[type=submit]")
                await page.wait_for_selector("body[data-state=error]")
                assert "Không tải được" in await page.inner_text("#error")

                # The right key: typing it loads the units, so one can be chosen at once.
                await page.fill("#key", key)
                await page.press("#key", "Tab")
                await page.wait_for_selector("#unit option[value='10444']", state="attached")

                for number, choice in enumerate(CHOICES):
                    await page.fill("#from", choice["from"])
                    await page.fill("#to", choice["to"])
                    await page.select_option("#unit", choice["unit"])
                    await page.select_option("#basis", choice["basis"])
                    await page.click("button[type=submit]")
                    query = httpx.QueryParams(params(choice))
                    await page.wait_for_function(
                        "q => document.body.dataset.state === 'ready' && document.body.dataset.query === q",
                        arg=str(query),
                    )
                    if number == 0:
                        await page.screenshot(path=str(SCREENSHOT), full_page=True)
                    await check_page_against_api(page, http, choice)

                # The key stays in the tab: a reload draws the figures without asking again.
                await page.reload()
                await page.wait_for_selector("body[data-state=ready]")
                assert await page.input_value("#key") == key
                assert errors == []
            finally:
                await browser.close()


async def ratio(http: httpx.AsyncClient, choice: dict[str, str], **extra: str) -> dict[str, Any]:
    response = await http.get("/v1/stats/online-ratio", params=params(choice, **extra))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def check_page_against_api(
    page: Any, http: httpx.AsyncClient, choice: dict[str, str]
) -> None:
    # Domains: ratio and target per domain, and whether the target is met.
    by_domain = await ratio(http, choice, group_by="domain")
    assert by_domain["rows"], "the data set should give figures for every choice"
    domains = await shown(page, "#domains [data-domain]")
    assert [
        (d["domain"], int(d["online"]), int(d["total"]), float(d["ratio"]), float(d["target"]))
        for d in domains
    ] == [
        (r["domain_code"], r["online"], r["total"], r["ratio"], r["target"])
        for r in by_domain["rows"]
    ]
    for d, r in zip(domains, by_domain["rows"], strict=True):
        assert d["meetsTarget"] == str(r["meets_target"]).lower()
        assert pct(r["ratio"]) in d["text"] and f"chỉ tiêu {pct(r['target'])}" in d["text"]
        assert ("✓ Đạt" if r["meets_target"] else "✗ Chưa đạt") in d["text"]
    overall = (await shown(page, "#overall"))[0]
    assert float(overall["ratio"]) == by_domain["overall"]["ratio"]
    assert int(overall["total"]) == by_domain["overall"]["total"]

    # Trend: one point per month with dossiers, the others drawn empty.
    by_month = await ratio(http, choice, group_by="none", period="month")
    points = await shown(page, "#trend g.point")
    drawn = [p for p in points if "ratio" in p]
    assert [(p["period"], int(p["online"]), int(p["total"]), float(p["ratio"])) for p in drawn] == [
        (r["period"], r["online"], r["total"], r["ratio"]) for r in by_month["rows"]
    ]
    for p, r in zip(drawn, by_month["rows"], strict=True):
        assert pct(r["ratio"]) in p["text"]
    first, last = choice["from"][:7], choice["to"][:7]
    assert points[0]["period"] == first and points[-1]["period"] == last
    assert all(
        "ratio" not in p
        for p in points
        if p["period"] not in {r["period"] for r in by_month["rows"]}
    )

    # Ranking: units by ratio, highest first (ties: more dossiers, then code).
    by_unit = await ratio(http, choice, group_by="unit")
    expected = sorted(by_unit["rows"], key=lambda r: (-r["ratio"], -r["total"], r["unit_code"]))
    ranking = await shown(page, "#ranking tr[data-unit]")
    assert [
        (int(t["rank"]), t["unit"], int(t["online"]), int(t["total"]), float(t["ratio"]))
        for t in ranking
    ] == [
        (i, r["unit_code"], r["online"], r["total"], r["ratio"])
        for i, r in enumerate(expected, start=1)
    ]
    for t, r in zip(ranking, expected, strict=True):
        assert pct(r["ratio"]) in t["text"] and (r["unit_name"] or r["unit_code"]) in t["text"]
