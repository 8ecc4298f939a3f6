"""Findings for the report's index: one sentence per result, its margin effect per month."""

import pytest

import aovlab
from aovlab import findings, periods
from aovlab.results import Unavailable

YEAR = periods.trailing("2026-10", 12)


@pytest.fixture(scope="module")
def priced(shop):
    whatif = aovlab.pricing.whatif(shop, top=5, change=[0.05, 0.10], elasticity=-1.22, when=YEAR)
    threshold = aovlab.pricing.threshold(shop, when=YEAR)
    offer = aovlab.pricing.spend_offer(shop, threshold=100.0, discount=10.0, when=YEAR)
    pairs = aovlab.bundles.pairs(shop, when=YEAR)
    suggestions = aovlab.bundles.suggest(shop, pairs, discount=0.10, take_rate=0.05)
    bundle = aovlab.bundles.bundle_margin(
        shop, suggestions, discount=0.10, take_rate=0.05, when=YEAR
    )
    return {"whatif": whatif, "threshold": threshold, "offer": offer, "bundle": bundle}


def test_priced_decisions_get_a_sentence_and_a_margin_per_month(priced):
    found = {k: findings.of(r) for k, r in priced.items()}
    # Each period's margin change over its 12 months.
    assert found["offer"].margin_per_month == pytest.approx(-79_259.54 / 12, abs=0.01)
    assert found["threshold"].margin_per_month == pytest.approx(34_882.85 / 12, abs=0.5)
    assert found["bundle"].margin_per_month == pytest.approx(2_236.73 / 12, abs=0.01)
    assert found["whatif"].text.startswith("Raising the 5 best-sellers' prices by 10 % would add")
    assert found["threshold"].text == (
        "A free-shipping threshold of €182.00 would add about €2,907 of margin a month if "
        "39 % of the orders within reach top up."
    )
    assert found["bundle"].text == (
        "A 10 % bundle of Hiking boot Dovre and Hiking socks Abisko would add about €186 of "
        "margin a month at a 5 % take rate (it pays from 0.6 %)."
    )
    ranked = findings.top([(k, f) for k, f in found.items()])
    assert [k for k, _ in ranked] == ["offer", "threshold", "whatif"]


def test_descriptions_have_no_margin_and_unanswered_analyses_no_finding(shop):
    drivers = aovlab.drivers.decompose(shop, "2026-10", None, by="device")
    assert findings.of(drivers) == findings.Finding(
        "AOV rose 4.4 % from €115.77 in 2026-09 to €120.92 in 2026-10."
    )
    assert findings.of(aovlab.metrics.kpis(shop, when="2026-10")) is None  # the key figures
    assert findings.of(Unavailable(table=None, what="Price test", reason="no arms")) is None
    assert findings.of("not a result") is None


def test_a_price_cut_and_a_loss_read_as_such(shop):
    cut = aovlab.pricing.whatif(shop, top=5, change=[-0.10], elasticity=-0.5, when=YEAR)
    found = findings.of(cut)
    assert found.text.startswith("Cutting the 5 best-sellers' prices by 10 % would lose about")
    assert found.margin_per_month < 0


def test_months_of_a_period():
    assert findings.months_in("2025-11..2026-10") == 12
    assert findings.months_in("2026") == 12
    assert findings.per_month(100.0, "nonsense") is None
    assert findings.first_sentence("Costs €1.5k. Then more.") == "Costs €1.5k."


def test_a_bundles_month_is_a_month_of_its_data(shop):
    """A window reaching past the data counts the months with data, as the bundle does."""
    bundle = aovlab.bundles.bundle_margin(
        shop, ["FW-003", "CA-002"], discount=0.10, when="2026-10..2027-09"
    )
    assert bundle.months == 1
    assert findings.of(bundle).margin_per_month == pytest.approx(bundle.margin_change)
