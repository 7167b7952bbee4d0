"""/dashboard end to end: a live server, headless Chromium (Debian's), and every figure the page
shows compared with what the API answers for the same choices; each list a number opens compared
with that number and with `GET /v1/dossiers`.

Screenshots of every tab, wide and 390 px narrow, go to $DASHBOARD_SCREENSHOTS
(default /tmp/dashboard-screenshots). Skipped where /usr/bin/chromium (or playwright) is missing."""

from __future__ import annotations

import asyncio
import calendar
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
SCREENSHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", "/tmp/dashboard-screenshots"))
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
async_api = pytest.importorskip("playwright.async_api", reason="the playwright package is missing")

# (unit, online share): the province lies outside Mỹ Đức (282), the others inside it.
UNITS = [("282", 0.9), ("10441", 0.75), ("10444", 0.5), ("10447", 0.3), ("01", 0.6)]
DOMAINS = [("TP", "Tư pháp", 0.05), ("DKKD", "Đăng ký kinh doanh", -0.2), ("DD", "Đất đai", -0.3)]
MONTHS = [1, 2, 3, 4, 9]
LATEST_MONTH = ("2017-09-01", "2017-09-30")
REPORT06_COLUMNS = [
    "received_total",
    "received_online",
    "received_offline",
    "carried_over",
    "finished_total",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "pending_total",
    "pending_on_time",
    "pending_overdue",
]


def outcome(n: int, month: int, i: int) -> dict[str, Any]:
    """Status and dates that spread dossiers over every report 06 column: pending (overdue or
    not, depending on the period's end), finished early, late, returned on the due date,
    waiting for a supplement, withdrawn."""

    def day(d: int) -> str:
        return f"2017-{month:02d}-{d:02d}T17:00:00+07:00"

    kind = n % 6
    if kind == 1:
        return {"status": "finished", "finished_at": day(10 + i)}
    if kind == 2:
        return {"status": "finished", "finished_at": day(22 + i)}
    if kind == 3:
        return {"status": "returned", "returned_at": day(15 + i)}
    if kind == 4:
        return {"status": "supplement_requested"}
    if kind == 5:
        return {"status": "withdrawn", "finished_at": day(12 + i)}
    return {"status": "processing"}


def dataset() -> list[dict[str, Any]]:
    """Dossiers over several units, domains and months with online shares that differ by all
    three, levels 2 to 4, every outcome, fees paid one way or another, and a few not yet
    received (which never count)."""
    events = []
    for u, (unit, share) in enumerate(UNITS):
        for d, (domain, name, shift) in enumerate(DOMAINS):
            for month in MONTHS:
                total = 3 + (u + d + month) % 4
                online = max(0, min(total, round(total * (share + shift + month / 40))))
                for i in range(total):
                    on = i < online
                    level = (4 if i % 2 else 3) if on else (2 if i % 3 == 0 else 3)
                    state = outcome(u + d + month + i, month, i)
                    if i == total - 1 and month == 2 and d == 0:
                        state = {"status": "submitted"}
                    code = f"E2E-{unit}-{domain}-{month:02d}-{i}"
                    events.append(
                        event(
                            code,
                            code=code,
                            occurred_at=f"2017-{month:02d}-28T23:00:00+07:00",
                            procedure_code=f"T.{domain}.{level}",
                            procedure_name=f"Thủ tục {name} mức {level}",
                            domain_code=domain,
                            domain_name=name,
                            unit_code=unit,
                            channel="online" if on else ("postal" if i % 4 == 3 else "in_person"),
                            service_level=level,
                            submitted_at=f"2017-{month:02d}-{1 + i:02d}T08:00:00+07:00",
                            received_at=f"2017-{month:02d}-{1 + i:02d}T10:00:00+07:00",
                            due_at=f"2017-{month:02d}-{15 + i:02d}T17:00:00+07:00",
                            fee_amount=[0, 50_000, 100_000][(u + i) % 3],
                            paid_online=["no", "national_portal", "local_gateway", "other"][
                                (d + i) % 4
                            ],
                            digitized=(u + month + i) % 3 != 0,
                            reused_data=(d + i) % 4 == 0,
                            e_result=(u + d + i) % 2 == 0,
                            **state,
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


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the module; each test opens its own context."""
    async with async_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=20_000
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def http(live_server: str, make_key: MakeKey) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the live server with a read key, after the data set is stored."""
    key = await make_key("ingest", "read")
    async with httpx.AsyncClient(base_url=live_server, headers=bearer(key), timeout=30) as client:
        response = await client.post("/v1/events", json={"events": dataset()})
        assert response.status_code == 200, response.text
        assert not response.json()["rejected"]
        yield client


class Dashboard:
    """A browser tab on /dashboard, with the key in its session as a returning user has it."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    async def open(self, query: str = "", state: str = "ready") -> None:
        await self.page.goto(f"{self.base}/dashboard{'?' + query if query else ''}")
        await self.settled(state)

    async def settled(self, state: str = "ready") -> None:
        """Waits until the page has drawn (or failed), and checks which."""
        await self.page.wait_for_function(
            "() => ['ready', 'error', 'idle'].includes(document.body.dataset.state)"
        )
        assert await self.state() == state, await self.page.inner_text("#error")

    async def state(self) -> str:
        state: str = await self.page.evaluate("document.body.dataset.state")
        return state

    async def query(self) -> dict[str, str]:
        """The view the URL names."""
        return {k: v[0] for k, v in parse_qs(urlsplit(self.page.url).query).items()}

    async def screenshot(self, name: str) -> None:
        await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)

    async def click_figure(self, selector: str) -> dict[str, str]:
        """Clicks a number and waits for its list; answers the number's data-* attributes."""
        button = self.page.locator(selector).first
        figure: dict[str, str] = await button.evaluate("b => ({...b.dataset})")
        await button.click()
        await self.page.wait_for_function(
            "() => document.body.dataset.state === 'ready' && "
            "['ready', 'error'].includes(document.getElementById('drill').dataset.state)"
        )
        return figure

    def check_clean(self) -> None:
        """No script error, and no request to any host but the service."""
        assert self.errors == []
        assert self.requests and all(
            url.startswith((self.base + "/", "blob:", "data:")) for url in self.requests
        ), self.requests


@pytest.fixture
async def dashboard(
    browser: Any, live_server: str, http: httpx.AsyncClient
) -> AsyncIterator[Dashboard]:
    """A wide dashboard tab whose session already holds the read key."""
    async with await dashboard_context(browser, http, WIDE) as context:
        yield Dashboard(await context.new_page(), live_server)


async def dashboard_context(browser: Any, http: httpx.AsyncClient, viewport: dict[str, int]) -> Any:
    key = http.headers["Authorization"].removeprefix("Bearer ")
    context = await browser.new_context(
        viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
    )
    context.set_default_timeout(15_000)
    await context.add_init_script(f"sessionStorage.setItem('dossier-stats-key', {key!r})")
    return context


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


def number(value: int) -> str:
    """As the page writes a count (vi-VN groups thousands with a dot)."""
    return f"{value:,}".replace(",", ".")


async def get(http: httpx.AsyncClient, path: str, query: dict[str, str]) -> dict[str, Any]:
    response = await http.get(path, params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- the online ratio tab


async def test_ratio_tab_shows_the_figures_of_the_api(
    dashboard: Dashboard, http: httpx.AsyncClient
) -> None:
    page = dashboard.page
    await dashboard.open("tab=ratio&from=2017-01-01&to=2017-01-31")
    for number_, choice in enumerate(CHOICES):
        await page.select_option("#preset", "custom")
        await page.fill("#from", choice["from"])
        await page.fill("#to", choice["to"])
        await page.select_option("#unit", choice["unit"])
        await page.select_option("#basis", choice["basis"])
        await page.click("button[type=submit]")
        await dashboard.settled()
        # The view is in the URL; the default basis is left out.
        assert await dashboard.query() == {
            "tab": "ratio",
            **{k: v for k, v in params(choice).items() if v != "online_capable"},
        }
        if number_ == 0:
            await dashboard.screenshot("wide-ratio")
        await check_ratio_tab(page, http, choice)
    dashboard.check_clean()


async def check_ratio_tab(page: Any, http: httpx.AsyncClient, choice: dict[str, str]) -> None:
    # Domains: ratio and target per domain, and whether the target is met.
    by_domain = await get(http, "/v1/stats/online-ratio", params(choice, group_by="domain"))
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
        assert f"({number(r['online'])}/{number(r['total'])} hồ sơ)" in d["text"]
        assert ("✓ Đạt" if r["meets_target"] else "✗ Chưa đạt") in d["text"]
    overall = (await shown(page, "#overall"))[0]
    assert float(overall["ratio"]) == by_domain["overall"]["ratio"]
    assert int(overall["total"]) == by_domain["overall"]["total"]
    assert int(overall["online"]) == by_domain["overall"]["online"]

    # Trend: one point per month with dossiers, the others drawn empty; the same in the table.
    by_month = await get(
        http, "/v1/stats/online-ratio", params(choice, period="month", group_by="none")
    )
    points = await shown(page, "#trend g.point")
    drawn = [p for p in points if "ratio" in p]
    expected_months = [(r["period"], r["online"], r["total"], r["ratio"]) for r in by_month["rows"]]
    assert [(p["period"], int(p["online"]), int(p["total"]), float(p["ratio"])) for p in drawn] == (
        expected_months
    )
    first, last = choice["from"][:7], choice["to"][:7]
    assert points[0]["period"] == first and points[-1]["period"] == last
    table = await shown(page, "#months tr[data-period]")
    assert [
        (t["period"], int(t["online"]), int(t["total"]), float(t["ratio"])) for t in table
    ] == expected_months
    for t, r in zip(table, by_month["rows"], strict=True):
        assert pct(r["ratio"]) in t["text"]

    # Ranking: units by ratio, highest first (ties: more dossiers, then code).
    by_unit = await get(http, "/v1/stats/online-ratio", params(choice, group_by="unit"))
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


async def test_first_open_shows_the_latest_month_with_data(dashboard: Dashboard) -> None:
    await dashboard.open()
    assert await dashboard.query() == {
        "tab": "ratio",
        "from": LATEST_MONTH[0],
        "to": LATEST_MONTH[1],
    }
    assert await dashboard.page.input_value("#from") == LATEST_MONTH[0]
    assert await dashboard.page.input_value("#to") == LATEST_MONTH[1]
    assert await dashboard.page.locator("#domains [data-domain]").count() == len(DOMAINS)
    assert "Không có hồ sơ" not in await dashboard.page.inner_text("#panel-ratio")
    dashboard.check_clean()


async def test_period_presets_set_the_dates_of_vietnam(dashboard: Dashboard) -> None:
    page = dashboard.page
    await dashboard.open("tab=ratio&from=2017-01-01&to=2017-03-31")
    today = await page.evaluate(
        "new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Ho_Chi_Minh'}).format(new Date())"
    )
    year, month = int(today[:4]), int(today[5:7])
    previous = (year - 1, 12) if month == 1 else (year, month - 1)
    last_day = calendar.monthrange(*previous)[1]
    quarter_start = 3 * ((month - 1) // 3) + 1
    expected = {
        "this_month": (f"{year}-{month:02d}-01", today),
        "last_month": (
            f"{previous[0]}-{previous[1]:02d}-01",
            f"{previous[0]}-{previous[1]:02d}-{last_day:02d}",
        ),
        "this_quarter": (f"{year}-{quarter_start:02d}-01", today),
        "this_year": (f"{year}-01-01", today),
    }
    for preset, (first, last) in expected.items():
        await page.select_option("#preset", preset)
        await dashboard.settled()
        query = await dashboard.query()
        assert (query["from"], query["to"]) == (first, last), preset
        assert await page.input_value("#preset") == preset
    # No data in these periods: the page says so instead of drawing nothing.
    assert "Không có hồ sơ trong kỳ." in await page.inner_text("#domains")


# ---------------------------------------------------------------- report 06, as the form


async def test_report06_tab_is_the_form_with_the_api_figures(
    dashboard: Dashboard, http: httpx.AsyncClient
) -> None:
    page = dashboard.page
    choice = {"from": "2017-02-01", "to": "2017-03-31", "unit": "282"}
    await dashboard.open("tab=report06&from=2017-02-01&to=2017-03-31&unit=282")
    report = await get(http, "/v1/stats/report-06", choice)
    assert report["rows"]

    headings = await page.inner_text("#report06 thead")
    for heading in [
        "STT",
        "Lĩnh vực, công việc giải quyết theo cấp",
        "Số hồ sơ nhận giải quyết",
        "Trong đó",
        "Trực tuyến",
        "Trực tiếp, dịch vụ bưu chính",
        "Từ kỳ trước",
        "Số hồ sơ đã giải quyết",
        "Trước hạn",
        "Đúng hạn",
        "Số hồ sơ đang giải quyết",
        "Trong hạn",
        "Quá hạn",
    ]:
        assert heading in headings
    assert [f"({n})" for n in range(1, 14)] == await page.eval_on_selector_all(
        "#report06 tr.numbers th", "ths => ths.map(t => t.textContent)"
    )
    assert "(Từ ngày 01/02/2017 đến ngày 31/03/2017)" in await page.inner_text("#panel-report06")

    def counts(row: dict[str, Any]) -> list[int]:
        return [row[c] for c in REPORT06_COLUMNS]

    rendered = [
        (
            tr["class"],
            tr["level"] or None,
            tr["domain"],
            [int(v.replace(".", "")) for v in tr["cells"]],
        )
        for tr in await page.eval_on_selector_all(
            "#report06 tbody tr",
            """trs => trs.map(tr => ({class: tr.className, level: tr.dataset.level,
                domain: tr.dataset.domain || null,
                cells: [...tr.querySelectorAll('td[data-column]')].map(t => t.textContent)}))""",
        )
    ]
    levels = [
        level
        for level in ["province", "district", "commune"]
        if any(r["unit_level"] == level for r in report["rows"])
    ]
    expected: list[tuple[str, str | None, str | None, list[int]]] = []
    for level in levels:
        members = [r for r in report["rows"] if r["unit_level"] == level]
        subtotal = [sum(r[c] for r in members) for c in REPORT06_COLUMNS]
        expected.append(("section", level, None, subtotal))
        expected += [("row", level, r["domain_code"], counts(r)) for r in members]
    expected.append(("total", None, None, counts(report["overall"])))
    assert rendered == expected
    assert [r[1] for r in expected if r[0] == "section"] == levels
    await dashboard.screenshot("wide-report06")
    dashboard.check_clean()


async def test_report06_prints_the_form_without_the_controls(dashboard: Dashboard) -> None:
    page = dashboard.page
    await dashboard.open("tab=report06&from=2017-01-01&to=2017-03-31&unit=282")
    await page.emulate_media(media="print")
    for hidden in ["#filters", "nav.tabs", "#panel-report06 .actions", "#print"]:
        assert not await page.locator(hidden).first.is_visible(), hidden
    assert await page.locator("#report06").is_visible()
    assert await page.locator("#view-line").is_visible()
    await dashboard.screenshot("print-report06")
    pdf = await page.pdf(format="A4", landscape=True)
    assert pdf.startswith(b"%PDF")


# ---------------------------------------------------------------- errors


async def test_a_wrong_key_clears_the_figures_and_says_what_to_do(dashboard: Dashboard) -> None:
    page = dashboard.page
    await dashboard.open("tab=ratio&from=2017-01-01&to=2017-12-31")
    assert await page.locator("#domains [data-domain]").count() == len(DOMAINS)
    await page.fill("#key", "not-a-key")
    await page.click("button[type=submit]")
    await dashboard.settled("error")
    message = await page.inner_text("#error")
    assert "Khóa đọc không đúng" in message and "nhập lại khóa đọc" in message
    assert await page.locator("#domains [data-domain]").count() == 0
    assert await page.locator("#ranking tr").count() == 0
    assert await page.locator("#trend g.point").count() == 0
    assert await page.inner_text("#overall") == ""
    await dashboard.screenshot("wide-error-key")


async def test_a_server_error_clears_the_report_and_says_to_retry(dashboard: Dashboard) -> None:
    page = dashboard.page
    await dashboard.open("tab=report06&from=2017-01-01&to=2017-03-31")
    assert await page.locator("#report06 button.fig").count() > 0

    async def fail(route: Any) -> None:
        await route.fulfill(
            status=500,
            content_type="application/problem+json",
            body='{"type": "about:blank", "title": "Internal Server Error", "status": 500}',
        )

    await page.route("**/v1/stats/report-06?*", fail)
    await page.fill("#to", "2017-04-30")
    await page.click("button[type=submit]")
    await dashboard.settled("error")
    assert "Máy chủ gặp lỗi (lỗi 500)" in await page.inner_text("#error")
    assert "thử lại" in await page.inner_text("#error")
    assert await page.locator("#report06 tr").count() == 0

    # A list that fails: emptied, and it says why; the figures it was opened from stay.
    await page.unroute("**/v1/stats/report-06?*")
    await page.click("button[type=submit]")
    await dashboard.settled()
    await page.route("**/v1/dossiers?*", fail)
    await page.click("#report06 tr.total td[data-column=received_total] button")
    await page.wait_for_function("() => document.getElementById('drill').dataset.state === 'error'")
    assert "Máy chủ gặp lỗi (lỗi 500)" in await page.inner_text("#drill-error")
    assert await page.locator("#drill-table tr").count() == 0
    assert await page.inner_text("#drill-summary") == ""
    assert await page.locator("#report06 button.fig").count() > 0
    await dashboard.screenshot("wide-error-list")

    # The network gone: the page says to check it.
    await page.route("**/v1/stats/report-06?*", lambda route: route.abort())
    await page.click("button[type=submit]")
    await dashboard.settled("error")
    assert "Không kết nối được tới máy chủ" in await page.inner_text("#error")


async def test_a_wrong_filter_is_named_in_the_message(dashboard: Dashboard) -> None:
    page = dashboard.page
    await dashboard.open("tab=ratio&from=2017-01-01&to=2017-12-31")
    await dashboard.open("tab=ratio&from=2017-05-01&to=2017-01-31", "error")
    message = await page.inner_text("#error")
    assert "Bộ lọc không hợp lệ" in message and "“Từ ngày”" in message, message
    assert await page.get_attribute("#from", "aria-invalid") == "true"
    assert await page.locator("#domains [data-domain]").count() == 0

    await dashboard.open("tab=report06&from=2017-01-01&to=2017-01-31&unit=NO-SUCH-UNIT", "error")
    message = await page.inner_text("#error")
    assert "“Đơn vị”" in message and "không có trong danh mục" in message, message


# ---------------------------------------------------------------- narrow screens


@pytest.mark.parametrize("tab", ["ratio", "report06", "scorecard"])
async def test_each_tab_fits_a_390_px_screen(
    browser: Any, live_server: str, http: httpx.AsyncClient, tab: str
) -> None:
    async with await dashboard_context(browser, http, NARROW) as context:
        dashboard = Dashboard(await context.new_page(), live_server)
        await dashboard.open(f"tab={tab}&from=2017-01-01&to=2017-12-31&unit=282")
        page = dashboard.page
        widths = await page.evaluate(
            "({page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,"
            " body: document.body.scrollWidth})"
        )
        assert widths["page"] <= widths["view"] == NARROW["width"], widths
        assert widths["body"] <= NARROW["width"], widths
        # Wide tables scroll in their own box, which says so.
        if tab != "ratio":
            wrap = page.locator(f"#panel-{tab} .scroll-wrap").first
            assert await wrap.get_attribute("data-overflow") == "true"
            assert await wrap.locator(".scroll-hint").is_visible()
        else:
            svg_width = await page.eval_on_selector(
                "#trend svg", "s => s.getBoundingClientRect().width"
            )
            assert svg_width <= NARROW["width"]
        await dashboard.screenshot(f"narrow-{tab}")
        dashboard.check_clean()


# ---------------------------------------------------------------- the dossiers behind a number


async def all_dossiers(http: httpx.AsyncClient, query: dict[str, str]) -> tuple[int, list[str]]:
    """`count` and the codes of every page of GET /v1/dossiers, cursor after cursor."""
    codes: list[str] = []
    cursor: str | None = None
    while True:
        page = await get(
            http,
            "/v1/dossiers",
            {**query, "limit": "1000", **({"cursor": cursor} if cursor else {})},
        )
        codes += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return page["count"], codes


async def listed(dashboard: Dashboard) -> list[str]:
    """Every code the open list shows, page after page (its "next" button until it is disabled)."""
    page = dashboard.page
    codes: list[str] = []
    while True:
        codes += await page.eval_on_selector_all(
            "#drill-table tr[data-code]", "trs => trs.map(t => t.dataset.code)"
        )
        if await page.is_disabled("#drill-next"):
            return codes
        shown_page = await page.get_attribute("#drill", "data-page")
        await page.click("#drill-next")
        await page.wait_for_function(
            "p => document.getElementById('drill').dataset.state === 'ready'"
            " && document.getElementById('drill').dataset.page !== p",
            arg=shown_page,
        )


async def test_a_report06_number_opens_exactly_its_dossiers(
    dashboard: Dashboard, http: httpx.AsyncClient
) -> None:
    page = dashboard.page
    period = {"from": "2017-02-01", "to": "2017-03-31", "unit": "282"}
    await dashboard.open("tab=report06&from=2017-02-01&to=2017-03-31&unit=282")
    report = await get(http, "/v1/stats/report-06", period)

    # A row of a section: its level and its domain.
    row = next(
        r for r in report["rows"] if r["unit_level"] == "commune" and r["domain_code"] == "TP"
    )
    assert row["pending_overdue"] > 0
    clicked = await dashboard.click_figure(
        "#report06 tr.row[data-level=commune][data-domain=TP] td[data-column=pending_overdue] button"
    )
    assert await dashboard.query() == {
        "tab": "report06",
        **period,
        "figure": "pending_overdue",
        "d_unit_level": "commune",
        "d_domain": "TP",
    }
    count, codes = await all_dossiers(
        http,
        {**period, "figure": "pending_overdue", "unit_level": "commune", "domain": "TP"},
    )
    assert int(clicked["value"]) == row["pending_overdue"] == count == len(codes)
    assert await page.get_attribute("#drill", "data-count") == str(count)
    assert await page.inner_text("#drill-title") == "Hồ sơ đang giải quyết quá hạn"
    # The number whose list is open stands out, and only that one.
    assert await page.eval_on_selector_all(
        "button.fig.current", "bs => bs.map(b => [b.dataset.figure, b.dataset.drill])"
    ) == [["pending_overdue", '{"d_unit_level":"commune","d_domain":"TP"}']]
    assert await listed(dashboard) == codes
    await dashboard.screenshot("wide-report06-drill")

    # The total row, over several pages of the list.
    total = report["overall"]["received_total"]
    assert total > 50, "the list should need more than one page"
    clicked = await dashboard.click_figure(
        "#report06 tr.total td[data-column=received_total] button"
    )
    count, codes = await all_dossiers(http, {**period, "figure": "received_total"})
    assert int(clicked["value"]) == total == count == len(codes)
    assert await page.inner_text("#drill-page") == f"Hồ sơ 1–50 trên {count}"
    assert await listed(dashboard) == codes

    # A section's subtotal: its level alone.
    clicked = await dashboard.click_figure(
        "#report06 tr.section[data-level=district] td[data-column=finished_total] button"
    )
    count, codes = await all_dossiers(
        http, {**period, "figure": "finished_total", "unit_level": "district"}
    )
    subtotal = sum(r["finished_total"] for r in report["rows"] if r["unit_level"] == "district")
    assert int(clicked["value"]) == subtotal == count
    assert await listed(dashboard) == codes
    dashboard.check_clean()


async def test_ratio_numbers_open_exactly_their_dossiers(
    dashboard: Dashboard, http: httpx.AsyncClient
) -> None:
    choice = {"from": "2017-01-01", "to": "2017-06-30", "unit": "282", "basis": "all"}
    await dashboard.open("tab=ratio&from=2017-01-01&to=2017-06-30&unit=282&basis=all")
    by_unit = await get(http, "/v1/stats/online-ratio", params(choice, group_by="unit"))
    by_domain = await get(http, "/v1/stats/online-ratio", params(choice, group_by="domain"))
    by_month = await get(
        http, "/v1/stats/online-ratio", params(choice, group_by="none", period="month")
    )
    cases = [
        # (what is clicked, the API figure, the filters of its list)
        (
            "#ranking tr[data-unit='10444'] button[data-figure=online]",
            next(r["online"] for r in by_unit["rows"] if r["unit_code"] == "10444"),
            {"figure": "online", "unit_exact": "10444"},
        ),
        (
            "#domains [data-domain=DD] button[data-figure=total]",
            next(r["total"] for r in by_domain["rows"] if r["domain_code"] == "DD"),
            {"figure": "total", "domain": "DD"},
        ),
        (
            "#months tr[data-period='2017-03'] button[data-figure=online]",
            next(r["online"] for r in by_month["rows"] if r["period"] == "2017-03"),
            {"figure": "online", "from": "2017-03-01", "to": "2017-03-31"},
        ),
        ("#overall button[data-figure=total]", by_domain["overall"]["total"], {"figure": "total"}),
    ]
    for selector, figure, filters in cases:
        clicked = await dashboard.click_figure(selector)
        count, codes = await all_dossiers(http, {**params(choice), **filters})
        assert int(clicked["value"]) == figure == count == len(codes), selector
        assert await dashboard.page.get_attribute("#drill", "data-count") == str(count)
        assert await listed(dashboard) == codes, selector
    await dashboard.screenshot("wide-ratio-drill")
    dashboard.check_clean()


async def test_a_list_downloads_as_csv_and_xlsx(
    dashboard: Dashboard, http: httpx.AsyncClient
) -> None:
    page = dashboard.page
    await dashboard.open("tab=report06&from=2017-01-01&to=2017-12-31&unit=282")
    clicked = await dashboard.click_figure(
        "#report06 tr.total td[data-column=pending_overdue] button"
    )
    async with page.expect_download() as info:
        await page.click("#drill-csv")
    download = await info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line]
    assert len(lines) == 1 + int(clicked["value"])  # the header, then one line per dossier
    assert download.suggested_filename.endswith(".csv")
    async with page.expect_download() as info:
        await page.click("#drill-xlsx")
    download = await info.value
    xlsx = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert xlsx.startswith(b"PK")
    assert download.suggested_filename.endswith(".xlsx")
    assert await page.inner_text("#drill-error") == ""

    # The report itself, as the form in Excel.
    async with page.expect_download() as info:
        await page.click("#panel-report06 button.download[data-format=xlsx]")
    download = await info.value
    xlsx = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert xlsx.startswith(b"PK") and download.suggested_filename.endswith(".xlsx")
    assert await page.inner_text("#error") == ""


async def test_a_link_reopens_the_same_view_and_history_walks_it(
    browser: Any, dashboard: Dashboard, http: httpx.AsyncClient
) -> None:
    page = dashboard.page
    await dashboard.open()
    # Staff choose a period, a unit and a domain, go to report 06, open a number.
    await page.select_option("#preset", "custom")
    await page.fill("#from", "2017-01-01")
    await page.fill("#to", "2017-03-31")
    await page.select_option("#unit", "282")
    await page.select_option("#domain", "DKKD")
    await page.click("button[type=submit]")
    await dashboard.settled()
    await page.click("[role=tab][data-tab=report06]")
    await dashboard.settled()
    clicked = await dashboard.click_figure(
        "#report06 tr.row[data-level=commune] td[data-column=finished_late] button"
    )
    link = page.url
    expected_view = {
        "tab": "report06",
        "from": "2017-01-01",
        "to": "2017-03-31",
        "unit": "282",
        "domain": "DKKD",
        "figure": "finished_late",
        "d_unit_level": "commune",
        "d_domain": "DKKD",
    }
    assert await dashboard.query() == expected_view
    first_page = await page.eval_on_selector_all(
        "#drill-table tr[data-code]", "trs => trs.map(t => t.dataset.code)"
    )

    # A colleague opens the link in another browser (with their own key): the same view.
    async with await dashboard_context(browser, http, WIDE) as context:
        other = Dashboard(await context.new_page(), dashboard.base)
        await other.page.goto(link)
        await other.settled()
        await other.page.wait_for_function(
            "() => document.getElementById('drill').dataset.state === 'ready'"
        )
        assert await other.query() == expected_view
        for field, value in [("#from", "2017-01-01"), ("#to", "2017-03-31"), ("#unit", "282")]:
            assert await other.page.input_value(field) == value
        assert await other.page.input_value("#domain") == "DKKD"
        assert (
            await other.page.get_attribute("[role=tab][data-tab=report06]", "aria-selected")
            == "true"
        )
        assert await other.page.is_visible("#report06")
        assert await other.page.get_attribute("#drill", "data-count") == clicked["value"]
        assert (
            await other.page.eval_on_selector_all(
                "#drill-table tr[data-code]", "trs => trs.map(t => t.dataset.code)"
            )
            == first_page
        )
        assert await other.page.inner_html("#report06") == await page.inner_html("#report06")
        other.check_clean()

    # Back: the list closes; back again: the ratio tab; forward twice: the list again.
    await page.go_back()
    await dashboard.settled()
    assert "figure" not in await dashboard.query()
    assert await page.is_hidden("#drill")
    await page.go_back()
    await dashboard.settled()
    assert (await dashboard.query())["tab"] == "ratio"
    assert await page.is_visible("#domains [data-domain=DKKD]")
    await page.go_forward()
    await page.go_forward()
    await dashboard.settled()
    await page.wait_for_function("() => document.getElementById('drill').dataset.state === 'ready'")
    assert await dashboard.query() == expected_view
    assert await page.get_attribute("#drill", "data-count") == clicked["value"]
    dashboard.check_clean()


# ---------------------------------------------------------------- the scorecard


async def test_scorecard_tab_shows_the_indicators_and_ranks_units_by_points(
    dashboard: Dashboard, http: httpx.AsyncClient
) -> None:
    page = dashboard.page
    period = {"from": "2017-01-01", "to": "2017-06-30", "unit": "282"}
    await dashboard.open("tab=scorecard&from=2017-01-01&to=2017-06-30&unit=282")
    overall = (await get(http, "/v1/stats/indicators", period))["overall"]
    rows = await shown(page, "#indicators tr[data-indicator]")

    def optional(text: str) -> float | None:
        return None if text == "" else float(text)

    assert [
        (
            r["indicator"],
            int(r["numerator"]),
            int(r["denominator"]),
            optional(r["ratio"]),
            optional(r["points"]),
        )
        for r in rows
    ] == [
        (i["indicator"], i["numerator"], i["denominator"], i["ratio"], i["points"])
        for i in overall["indicators"]
    ]
    for r, i in zip(rows, overall["indicators"], strict=True):
        assert i["name"] in r["text"]
        assert i["ratio"] is None or pct(i["ratio"]) in r["text"]
    assert (
        float(await page.get_attribute("#total-points", "data-total-points") or "nan")
        == (overall["total_points"])
    )

    by_unit = await get(http, "/v1/stats/indicators", {**period, "group_by": "unit"})
    totals: dict[str, float] = {}
    for row in by_unit["rows"]:
        totals[row["unit_code"]] = totals.get(row["unit_code"], 0) + (row["points"] or 0)
    expected = sorted(totals.items(), key=lambda t: (-t[1], t[0]))
    ranking = await shown(page, "#unit-scores tr[data-unit]")
    assert [(int(r["rank"]), r["unit"], float(r["totalPoints"])) for r in ranking] == [
        (n, code, total) for n, (code, total) in enumerate(expected, start=1)
    ]
    await dashboard.screenshot("wide-scorecard")

    # A numerator of the whole and a denominator of one unit open their dossiers.
    on_time = next(i for i in overall["indicators"] if i["indicator"] == "on_time")
    clicked = await dashboard.click_figure(
        "#indicators tr[data-indicator=on_time] button[data-figure='on_time.numerator']"
    )
    count, codes = await all_dossiers(http, {**period, "figure": "on_time.numerator"})
    assert int(clicked["value"]) == on_time["numerator"] == count
    assert await listed(dashboard) == codes
    unit_row = next(
        r for r in by_unit["rows"] if r["unit_code"] == "10441" and r["indicator"] == "digitized"
    )
    clicked = await dashboard.click_figure(
        "#unit-scores tr[data-unit='10441'] button[data-figure='digitized.denominator']"
    )
    count, codes = await all_dossiers(
        http, {**period, "figure": "digitized.denominator", "unit_exact": "10441"}
    )
    assert int(clicked["value"]) == unit_row["denominator"] == count
    assert await listed(dashboard) == codes
    dashboard.check_clean()
