"""The same shop in every format gives the same numbers."""

import pytest

import aovlab
from aovlab import metrics

SAMPLE = aovlab.sample.DATA_DIR
FIGURES = ["orders", "revenue", "aov", "median_order_value", "upt", "aur", "margin_per_order"]


@pytest.fixture(scope="module")
def variants():
    catalog = SAMPLE / "catalog.csv"
    return {
        "shopify": aovlab.load(orders=SAMPLE / aovlab.sample.SHOPIFY_FILE, catalog=catalog),
        "woocommerce": aovlab.load(orders=SAMPLE / aovlab.sample.WOOCOMMERCE_FILE, catalog=catalog),
        "european": aovlab.load(
            orders=SAMPLE / "european" / "orders.csv",
            lines=SAMPLE / "european" / "lines.csv",
            catalog=catalog,
        ),
    }


@pytest.mark.parametrize("name", ["shopify", "woocommerce", "european"])
@pytest.mark.parametrize("by", ["month", ["month", "device"], "country"])
def test_every_format_gives_the_canonical_kpis(shop, variants, name, by):
    if name in ("shopify", "woocommerce") and by == ["month", "device"]:
        pytest.skip("platform exports have no device column")
    got = metrics.kpis(variants[name], by=by).table
    want = metrics.kpis(shop, by=by).table
    keys = [by] if isinstance(by, str) else by
    assert got.select(*keys, *FIGURES).equals(want.select(*keys, *FIGURES))


def test_european_variant_is_what_it_claims(shop):
    raw = (SAMPLE / "european" / "orders.csv").read_bytes()
    assert b";" in raw.splitlines()[0] and b"\r\n" in raw
    with pytest.raises(UnicodeDecodeError):
        (SAMPLE / "european" / "lines.csv").read_bytes().decode(
            "utf-8"
        )  # cp1252: Fjäll, Åre, Tromsø
    first = raw.decode("cp1252").splitlines()[1].split(";")
    assert first[2] == "01.11.2024 00:05:59" and first[3] == "5,90"
