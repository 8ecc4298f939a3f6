"""The client's locale: figures, dates, headlines, chart axes and the report follow it."""

import json
import re
import shutil
import threading
from pathlib import Path

import pytest
import vl_convert as vlc

import aovlab
from aovlab import charts, display, fmt, locales, metrics, report
from aovlab.errors import AovlabInputError

NBSP = "\u00a0"
SAMPLE = aovlab.sample.DATA_DIR
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(autouse=True)
def _english_after():
    """Every test starts and ends in the default locale, whatever it set."""
    locales.set_locale(None)
    yield
    locales.set_locale(None)


# The same figures in six locales, as Babel (CLDR 47) writes them; "−" and "+" are aovlab's.
CASES = {
    # locale: (currency, money, negative change, short, share, signed share, count, date)
    "sv": (
        "SEK",
        f"1{NBSP}234,56{NBSP}kr",
        f"−4,10{NBSP}kr",
        f"3,51m{NBSP}kr",
        f"2,5{NBSP}%",
        f"+12,0{NBSP}%",
        f"12{NBSP}345",
        "24 nov. 2026",
    ),
    "de": (
        "EUR",
        f"1.234,56{NBSP}€",
        f"−4,10{NBSP}€",
        f"3,51m{NBSP}€",
        f"2,5{NBSP}%",
        f"+12,0{NBSP}%",
        "12.345",
        "24. Nov. 2026",
    ),
    "nl": (
        "EUR",
        f"€{NBSP}1.234,56",
        f"−€{NBSP}4,10",
        f"€{NBSP}3,51m",
        "2,5 %",
        "+12,0 %",
        "12.345",
        "24 nov 2026",
    ),
    "nb": (
        "NOK",
        f"1{NBSP}234,56{NBSP}kr",
        f"−4,10{NBSP}kr",
        f"3,51m{NBSP}kr",
        f"2,5{NBSP}%",
        f"+12,0{NBSP}%",
        f"12{NBSP}345",
        "24. nov. 2026",
    ),
    "en-GB": ("GBP", "£1,234.56", "−£4.10", "£3.51m", "2.5 %", "+12.0 %", "12,345", "24 Nov 2026"),
    "en": ("EUR", "€1,234.56", "−€4.10", "€3.51m", "2.5 %", "+12.0 %", "12,345", "Nov 24, 2026"),
}


@pytest.mark.parametrize("tag", CASES)
def test_figures_in_each_locale(tag):
    currency, money, change, short, share, signed, count, day = CASES[tag]
    with aovlab.locale(tag):
        assert fmt.money(1234.56, currency) == money
        assert fmt.money(-4.1, currency, signed=True) == change
        assert fmt.money(3_512_345.0, currency, short=True) == short
        assert fmt.pct(0.025) == share
        assert fmt.pct(0.12, signed=True) == signed
        assert fmt.count(12345) == count
        assert fmt.date("2026-11-24") == day


def test_the_house_signs_stay_in_every_locale():
    with aovlab.locale("sv"):
        assert fmt.money(8.29, "SEK", signed=True) == f"+8,29{NBSP}kr"
        assert fmt.money(-6.4e-15, "SEK") == f"0,00{NBSP}kr"  # no "−0,00"
        assert fmt.pct(-0.032, signed=True) == f"−3,2{NBSP}%"
        assert fmt.money(12_345.0, "SEK", short=True) == f"12,3k{NBSP}kr"
        assert fmt.money(None, "SEK") == "n/a"


def test_months_and_tables_follow_the_locale():
    with aovlab.locale("de"):
        assert fmt.period_name("2026-11") == "November 2026"
        assert display.cell(0.0031705, "p", None) == "0,0032"
        assert display.cell(2906.0, "quantity", None) == "2.906"
        assert display.cell(12.5, "quantity", None) == "12,50"
    with aovlab.locale("sv"):
        assert fmt.period_name("2026-11") == "november 2026"


def test_english_is_what_aovlab_always_wrote():
    assert locales.current() == "en"
    assert fmt.money(1234.5, "SEK") == "1,234.50 kr"
    assert fmt.money(12.0, "CHF") == "12.00 CHF"
    assert fmt.number(-0.001) == "-0.00"
    assert fmt.count(10**20) == "100,000,000,000,000,000,000"  # ints stay exact
    assert fmt.period_name("2011-11") == "November 2011"


@pytest.mark.parametrize(
    ("currency", "tag"),
    [
        ("SEK", "sv"),
        ("NOK", "nb"),
        ("DKK", "da"),
        ("GBP", "en-GB"),
        ("USD", "en-US"),
        ("CHF", "de-CH"),
        ("EUR", "en"),
        ("JPY", "en"),
        (None, "en"),
    ],
)
def test_default_locale_from_the_currency(currency, tag):
    assert locales.for_currency(currency) == tag


@pytest.mark.parametrize("name", ["xx", "de-XX", "", "  ", "english", 7, None])
def test_an_unknown_locale_is_refused_with_examples(name):
    with pytest.raises(AovlabInputError) as err:
        locales.check(name)
    text = str(err.value)
    assert "is not a locale aovlab knows" in text
    assert "en-GB" in text and "de" in text and repr(name) in text


def test_names_are_normalised():
    assert [locales.check(n) for n in ("de_de", "EN-gb", " sv ", "nb")] == [
        "de-DE",
        "en-GB",
        "sv",
        "nb",
    ]


def test_the_context_restores_the_previous_locale():
    aovlab.set_locale("nb")
    with aovlab.locale("de"):
        with aovlab.locale("sv"):
            assert locales.current() == "sv"
        assert locales.current() == "de"
        with pytest.raises(RuntimeError), aovlab.locale("nl"):
            raise RuntimeError("boom")
        assert locales.current() == "de"
    assert locales.current() == "nb"
    with aovlab.locale(None):  # None keeps the current one
        assert locales.current() == "nb"
    with pytest.raises(AovlabInputError), aovlab.locale("xx"):
        pass
    assert locales.current() == "nb"


def test_a_locale_in_one_thread_is_not_another_threads():
    seen: dict[str, str] = {}
    ready = threading.Barrier(2)

    def client(tag: str) -> None:
        with aovlab.locale(tag):
            ready.wait()  # both blocks are open at once
            seen[tag] = fmt.money(1234.56, "EUR")

    threads = [threading.Thread(target=client, args=(t,)) for t in ("de", "en-GB")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"de": f"1.234,56{NBSP}€", "en-GB": "€1,234.56"}
    assert locales.current() == "en"


def test_a_headline_is_written_in_the_locale_it_is_first_read_in(shop):
    with aovlab.locale("de"):
        res = metrics.kpis(shop, when="2026-10")
        assert f"AOV 120,92{NBSP}€" in res.headline
    assert f"AOV 120,92{NBSP}€" in res.headline  # kept once written
    assert "1.590 orders" in res.headline
    assert "AOV €120.92" in metrics.kpis(shop, when="2026-10").headline


def _ticks(svg: str) -> list[str]:
    return re.findall(r">([0-9][0-9.,\u00a0’]*)</text>", svg)


def test_chart_axes_follow_the_locale(shop):
    res = metrics.kpis(shop, by="device", when="2026-10")
    with aovlab.locale("de"):
        german = vlc.vegalite_to_svg(charts.bar_chart(res, "revenue").to_dict())
    english = charts.bar_chart(res, "revenue").to_dict()
    assert "10.000" in _ticks(german) and "100.000" in _ticks(german)
    assert "locale" not in english["config"]  # the default spec is as it always was
    assert "10,000" in _ticks(vlc.vegalite_to_svg(english))


def test_the_svg_renderer_of_a_notebook_follows_the_locale(shop):
    """What a report page holds: the chart drawn by the renderer ``setup`` picks."""
    from aovlab import widgets

    widgets.setup(False, "sv")
    try:
        bundle = charts.bar_chart(metrics.kpis(shop, by="device"), "revenue")._repr_mimebundle_()
    finally:
        widgets.setup(False)
    svg = bundle[0]["image/svg+xml"] if isinstance(bundle, tuple) else bundle["image/svg+xml"]
    assert f"200{NBSP}000" in _ticks(svg)


def test_report_refuses_an_unknown_locale_before_reading(tmp_path):
    with pytest.raises(AovlabInputError, match=r"locale \(--locale\)"):
        report.run(tmp_path / "missing.csv", month=None, client="x", out=tmp_path, locale="xx")


def test_cli_report_refuses_an_unknown_locale(tmp_path):
    from typer.testing import CliRunner

    from aovlab.cli import app

    out = tmp_path / "reports"
    got = CliRunner().invoke(app, ["report", "--sample", "--locale", "klingon", "--out", str(out)])
    assert got.exit_code == 2
    assert "locale (--locale): is not a locale aovlab knows" in got.output
    assert "'klingon'" in got.output and "en-GB" in got.output
    assert not out.exists()  # refused before anything was read or written


@pytest.mark.slow
def test_report_in_swedish(tmp_path):
    """The primer alone, in sv: its page, the index and the summary write kronor Swedish."""
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(NOTEBOOKS / "00_kpi_primer.ipynb", books)
    outcome = report.run(
        SAMPLE / "orders.csv",
        lines=SAMPLE / "lines.csv",
        customers=SAMPLE / "customers.csv",
        catalog=SAMPLE / "catalog.csv",
        traffic=SAMPLE / "traffic.csv",
        month="2026-10",
        client="Sample Shop",
        out=tmp_path / "out",
        notebooks=books,
        currency="SEK",
        locale="sv",
    )
    assert not outcome.failed
    kronor = re.compile(r"\d{1,3}(?:\u00a0\d{3})+,\d\d\u00a0kr")  # "192 345,67 kr"
    page = (outcome.folder / "00_kpi_primer.html").read_text(encoding="utf-8")
    index = outcome.index.read_text(encoding="utf-8")
    assert kronor.search(page), "no 1 234,56 kr amount on the primer's page"
    assert f"120,92{NBSP}kr" in page and f"120,92{NBSP}kr" in index  # the month's AOV
    assert not re.search(r"\d,\d{3}\.\d\d kr", page + index)  # nothing English left
    assert f"1{NBSP}590" in index  # the month's orders on a card
    data = json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))
    assert data["locale"] == "sv" and data["kpis"]["aov"] == pytest.approx(120.92, abs=0.01)
    executed = (outcome.folder / "00_kpi_primer.ipynb").read_text(encoding="utf-8")
    assert 'locale = \\"sv\\"' in executed  # the parameter the notebook was run with


# --------------------------------------------------------------------------- figures in prose
# Counts, rates, p-values and confidence levels written into headlines, notes and table
# cells by the analyses themselves (not only by fmt's money/pct) follow the locale too.

#: A figure as English writes it: "2,885", "0.40", "0.032", "+5.6", or "95 %" with a
#: plain space (de writes a non-breaking one). A German "1.234" or "0,032" does not match.
ENGLISH = re.compile(
    r"(?<![\d.,])[1-9]\d{0,2}(?:,\d{3})+(?!\d)|\d\.\d{1,2}(?!\d)|(?<![\d.,])0\.\d| [1-9]\d? %"
)


def _read(res) -> str:
    """Everything a person reads of a result: its headline, notes and tables."""
    return res.headline + "\n" + res._repr_html_()


def _english(text: str) -> list[str]:
    return [text[max(m.start() - 30, 0) : m.end() + 10] for m in ENGLISH.finditer(text)]


def test_member_comparison_in_german(shop):
    with aovlab.locale("de"):
        res = aovlab.loyalty.compare_members(shop)
        text = _read(res)
    assert "(1.574 members, 3.004 non-members)" in res.headline
    assert "ordered 2,81 times each against 2,46" in res.headline
    assert "+0,35 (+0,21 to +0,49)" in text  # orders per customer: a signed gap
    assert "+5,6 points (+2,6 to +8,6)" in text  # repeat rate: points
    assert not _english(text), _english(text)


def test_loyalty_effect_and_programme_in_german(shop):
    with aovlab.locale("de"):
        res = aovlab.loyalty.impact(shop)
        effect = res.effect
        text = _read(res) + _read(effect)
    assert "+0,40 orders a member a year" in effect.headline
    assert "1.516 members with 6 months of history" in effect.headline
    assert "1.516 members in 16 joining cohorts" in text
    assert f"Intervals: 95{NBSP}% bootstrap" in text
    assert "(20,21\xa0€ to 37,08\xa0€; 2.885 members)" in res.headline
    assert "2,885" not in text
    assert not _english(text), _english(text)


def test_price_test_in_german(shop):
    """The sample's May 2026 price test: p-values in the headline and the tables."""
    with aovlab.locale("de"):
        res = aovlab.pricing.abtest(shop, "ab_arm")
        text = _read(res)
    assert f"95{NBSP}% CI +1,2{NBSP}% to +28,5{NBSP}%, p = 0,032)" in res.headline
    assert "p = 0,19, not significant" in res.headline
    assert "about 9.100 orders per arm" in res.headline
    assert ">0,032</td>" in text and ">0,19</td>" in text  # the p column
    assert not _english(text), _english(text)


def test_bundle_margin_in_german(shop):
    with aovlab.locale("de"):
        pairs = aovlab.bundles.pairs(shop)
        res = aovlab.bundles.bundle_margin(shop, aovlab.bundles.suggest(shop, pairs), discount=0.1)
        text = _read(res)
    assert "on the 2,8 orders a month that already have both" in res.headline
    assert f"it pays when 0,6{NBSP}% of the 170 orders" in res.headline
    assert "per 1.000 orders and AOV changes by +0,34\xa0€." in res.headline
    assert "<th>Margin change per 1.000 orders</th>" in text  # the column's label
    assert not _english(text), _english(text)


def test_customers_and_kpis_in_german(shop):
    with aovlab.locale("de"):
        rfm = aovlab.segments.rfm(shop)
        kpis = metrics.kpis(shop, when="2026-10")
        clv = aovlab.loyalty.clv(shop, "2026-06-30", horizon_months=1.5)
        text = _read(rfm) + _read(kpis) + _read(clv)
    assert f"are 10,9{NBSP}% of the 5.161 registered customers" in rfm.headline
    assert f"The top 1{NBSP}% of orders carry 7,2{NBSP}% of revenue." in kpis.headline
    assert "Over the next 1,5 months each of 5.161 customers" in clv.headline
    assert "3.436 repeat orders against 3.323 actual" in clv.headline
    assert not _english(text), _english(text)


def test_worked_examples_and_the_shop_in_german(shop):
    with aovlab.locale("de"):
        table = metrics.worked_examples()
        summary, page = repr(shop), shop._repr_html_()
    assert list(table["formula"]) == [
        "400.000 / 4.234",
        "10.000 / 100",
        "10.000 / 400.000",
        f"400.000 x 2,5{NBSP}% x 94,47",
        "2,5 units x 40,00",
    ]
    assert list(table["result"]) == ["94,47", "100,00", f"2,5{NBSP}%", "944.700,00", "100,00"]
    assert "orders=29.736, lines=47.685, customers=9.004, catalog=80, traffic=3.790" in summary
    assert "<td>orders</td><td style='text-align:right'>29.736</td>" in page
    assert not _english(summary + page), _english(summary + page)


def test_figures_in_prose_stay_english_by_default(shop):
    """The same figures in ``en``, as aovlab always wrote them."""
    assert "orders=29,736" in repr(shop)
    assert metrics.worked_examples()["formula"].iloc[3] == "400,000 x 2.5 % x 94.47"
    assert "p = 0.032" in aovlab.pricing.abtest(shop, "ab_arm").headline
    assert display.label("margin_change_per_1000_orders") == "Margin change per 1,000 orders"
    assert display.label("top1pct_revenue_share") == "Top 1 % of orders' revenue share"
    assert fmt.number(-0.35, signed=True) == "−0.35" and fmt.number(0.0, signed=True) == "+0.00"
    assert fmt.pct(0.975, digits=4, trim=True) == "97.5 %"
    with aovlab.locale("sv"):
        assert (
            display.label("margin_change_per_1000_orders") == f"Margin change per 1{NBSP}000 orders"
        )
        assert fmt.pct(0.975, digits=4, trim=True) == f"97,5{NBSP}%"


def test_a_data_note_counts_in_the_locale_it_was_loaded_in():
    """A note written while the data is read, as the report's checks page shows it."""
    import polars as pl

    from aovlab.model import ShopData

    n = 1200
    orders = {
        "order_id": [str(i) for i in range(n)],
        "ordered_at": ["2099-01-01 10:00:00"] * n,
        "merchandise": [10.0] * n,
    }
    with aovlab.locale("de"):
        shop = ShopData.from_frames(pl.DataFrame(orders), currency="EUR", timezone="UTC")
        assert "orders=1.200" in repr(shop)
    notes = [str(note) for note in shop.notes]
    assert any("1.200 order(s) are dated in the future" in note for note in notes), notes
    assert "orders=1,200" in repr(shop)  # a repr is written when it is read
