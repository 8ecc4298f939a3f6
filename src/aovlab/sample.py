"""The synthetic sample shop: a European outdoor-gear web shop with planted effects.

Everything is generated from one seed, so ``aovlab sample --out DIR`` rewrites
``data/sample/`` byte for byte. The effects that the analyses must recover are planted
with known sizes; :data:`TRUTH` is the single place those sizes live (the data README is
written from it).

Examples
--------
>>> TRUTH["mix_shift"]["baseline"], TRUTH["mix_shift"]["current"]
('2026-07', '2026-08')
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl

from aovlab import resources
from aovlab.errors import AovlabInputError
from aovlab.io.canonical import SHOP_FILE
from aovlab.io.canonical import load as _load
from aovlab.model import ShopData

SEED = 20261123
#: The sizes the sample shop can be generated at, relative to the bundled one.
SCALES = (0.001, 100.0)
START = dt.date(2024, 11, 1)
END = dt.date(2026, 11, 1)  # exclusive: 24 complete months
TIMEZONE = "Europe/Stockholm"
CURRENCY = "EUR"
NAME = "Nordic Trail Outfitters (sample)"
DATA_DIR = resources.sample_data()
FILES = ("orders.csv", "lines.csv", "customers.csv", "catalog.csv", "traffic.csv")
SHOPIFY_FILE = "shopify_orders_export.csv"
EUROPEAN_DIR = "european"
WOOCOMMERCE_FILE = "woocommerce_orders_export.csv"
SHOPIFY_COLUMNS = (
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Billing Name",
    "Shipping Country",
    "Cancelled at",
    "Refunded Amount",
    "Source",
    "Id",
)

#: The planted effects and their true sizes. Analyses are tested by recovering them.
TRUTH: dict[str, Any] = {
    "price_rise": {
        "date": "2026-03-01",
        "skus": ["AC-001", "FW-002", "JA-001", "BP-001", "AC-002"],
        "rise": 0.08,
        "elasticity": -1.2,
        "note": "the five best-sellers cost 8 % more from this date; each is picked "
        "1.08 ** -1.2 = 0.912 times as often as before (own-price elasticity -1.2)",
    },
    "free_shipping": {
        "date": "2025-09-01",
        "threshold_before": 49.0,
        "threshold_after": 79.0,
        "fee": {"SE": 5.9, "NO": 5.9, "DK": 5.9, "DE": 7.9, "NL": 7.9, "UK": 7.9},
        "top_up_window": 15.0,
        "top_up_share": 0.40,
        "top_up_sku": "AC-001",
        "note": "orders whose net merchandise falls within 15.00 below the threshold add "
        "one AC-001 (hiking socks) with probability 0.40 to reach free shipping",
    },
    "loyalty": {
        "launch": "2025-06-01",
        "join_share": 0.35,
        "aov_lift": 0.12,
        "frequency_lift": 0.25,
        "note": "35 % of registered customers decide to join; each joins after an "
        "exponential wait (mean 120 days) from the launch or their sign-up, whichever is "
        "later, so those whose join date falls after the data ends are not members yet; "
        "after joining a member's expected basket size is 12 % larger and their order "
        "rate 25 % higher",
    },
    "pairs": [
        {"a": "FW-003", "b": "CA-001", "p": 0.60, "what": "hiking boots + waterproofing spray"},
        {"a": "TE-001", "b": "AC-009", "p": 0.50, "what": "tent + its footprint"},
        {"a": "CO-002", "b": "CO-009", "p": 0.60, "what": "camp stove + gas canister"},
    ],
    "min_pair_lift": 5.0,
    "ab_test": {
        "start": "2026-05-04",
        "end": "2026-05-31",
        "arms": ["A", "B"],
        "price_lift_b": 0.05,
        "aov_lift_b": 0.05,
        "conversion_lift_b": -0.05,
        "note": "sessions split 50/50 (each day and channel's sessions by a binomial "
        "draw), and so are the test's orders before arm B's loss; arm B sees every price "
        "5 % higher (AOV +5 %) and converts 5 % less (each arm-B order is kept with "
        "probability 0.95)",
    },
    "seasonality": {
        "order_volume": {
            "1": 0.80,
            "2": 0.80,
            "3": 0.90,
            "4": 1.00,
            "5": 1.05,
            "6": 1.10,
            "7": 1.00,
            "8": 1.00,
            "9": 0.95,
            "10": 0.95,
            "11": 1.45,
            "12": 1.70,
        },
        "december_basket_lift": 0.08,
    },
    "large_orders": {
        "month": "2025-04",
        "count": 4,
        "order_ids": ["104592", "104735", "104982", "105165"],
        "note": "four business orders of 25-60 units each lift April 2025's mean AOV "
        "but not its median",
    },
    "mix_shift": {
        "dimension": "device",
        "baseline": "2026-07",
        "current": "2026-08",
        "share_before": {"desktop": 0.55, "mobile": 0.35, "tablet": 0.10},
        "share_current": {"desktop": 0.32, "mobile": 0.60, "tablet": 0.08},
        "basket_factor": {"desktop": 1.0, "mobile": 0.62, "tablet": 0.9},
        "rate_addon_sku": "AC-010",
        "rate_addon_share": 0.50,
        "note": "in 2026-08 a mobile app campaign lifts mobile's share of orders from 35 % "
        "to 60 %; mobile baskets are smaller, so overall AOV falls, while a summer add-on "
        "(AC-010 at 15.00, one unit on half of the orders: +7.50 per order) raises every device's AOV",
    },
}

# --------------------------------------------------------------------- the catalogue

_CATEGORIES: list[tuple[str, str, str, float, float, float, float]] = [
    # code, category, noun, min price, max price, cost ratio, share of picks
    ("FW", "Footwear", "Hiking boot", 69, 169, 0.52, 0.10),
    ("JA", "Jackets", "Jacket", 59, 249, 0.50, 0.08),
    ("BP", "Backpacks", "Backpack", 29, 149, 0.48, 0.09),
    ("TE", "Tents", "Tent", 99, 399, 0.55, 0.04),
    ("SL", "Sleeping", "Sleeping bag", 25, 179, 0.50, 0.07),
    ("CO", "Cooking", "Cookware", 9, 89, 0.45, 0.12),
    ("AC", "Accessories", "Accessory", 4, 29, 0.40, 0.32),
    ("CA", "Care", "Care", 4, 19, 0.35, 0.18),
]
_MODELS = [
    "Sarek",
    "Kebne",
    "Abisko",
    "Fjäll",
    "Åre",
    "Lofoten",
    "Tromsø",
    "Dovre",
    "Göta",
    "Nordkap",
]
_NAMED = {
    "AC-001": ("Hiking socks Abisko", 19.0),
    "FW-002": ("Trail runner Kebne", 129.0),
    "JA-001": ("Rain jacket Lofoten", 179.0),
    "BP-001": ("Daypack Åre 22", 79.0),
    "AC-002": ("Headlamp Dovre", 35.0),
    "FW-003": ("Hiking boot Sarek", 159.0),
    "CA-001": ("Waterproofing spray", 16.0),
    "TE-001": ("Tent Fjäll 2", 299.0),
    "AC-009": ("Tent footprint Fjäll 2", 39.0),
    "CO-002": ("Camp stove Mini", 49.0),
    "CO-009": ("Gas canister 230 g", 7.5),
    "AC-010": ("Sit pad Tromsø", 15.0),
}
_COUNTRIES = {"SE": 0.38, "NO": 0.14, "DK": 0.10, "DE": 0.16, "NL": 0.11, "UK": 0.11}
_VAT = {"SE": 0.25, "NO": 0.25, "DK": 0.25, "DE": 0.19, "NL": 0.21, "UK": 0.20}
_CHANNELS = {"organic": 0.30, "paid_search": 0.25, "social": 0.12, "email": 0.13, "direct": 0.20}
_CONVERSION = {
    "organic": 0.028,
    "paid_search": 0.022,
    "social": 0.012,
    "email": 0.045,
    "direct": 0.035,
}
_BASE_ITEMS = 1.75  # expected distinct items in a desktop basket


def catalog(rng: np.random.Generator | None = None) -> pl.DataFrame:
    """The 80-SKU catalogue: sku, product, category, unit_price (list), unit_cost, weight."""
    rng = rng or np.random.default_rng(SEED)
    rows = []
    taken = {name for name, _ in _NAMED.values()}
    for code, category, noun, lo, hi, cost_ratio, share in _CATEGORIES:
        zipf = 1.0 / np.arange(1, 11) ** 0.9
        zipf = zipf / zipf.sum()
        prices = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi), 10)), 0) - 0.1
        for i in range(10):
            sku = f"{code}-{i + 1:03d}"
            product, price = _NAMED.get(sku, (f"{noun} {_MODELS[i]}", float(prices[i])))
            if sku not in _NAMED and product in taken:
                product += " Lite"
            weight = share * zipf[i]
            rows.append((sku, product, category, price, round(price * cost_ratio, 2), weight))
    frame = pl.DataFrame(
        rows,
        schema=["sku", "product", "category", "unit_price", "unit_cost", "weight"],
        orient="row",
    )
    # The five best-sellers get the largest pick weights.
    boost = dict(zip(TRUTH["price_rise"]["skus"], [0.060, 0.045, 0.040, 0.040, 0.038], strict=True))
    return frame.with_columns(
        pl.col("sku")
        .replace_strict(boost, default=pl.col("weight"), return_dtype=pl.Float64)
        .alias("weight")
    )


# --------------------------------------------------------------------- the calendar


def _days() -> tuple[np.ndarray, np.ndarray]:
    """Every day of the window and its relative order volume (season x weekday x trend)."""
    days = np.arange(np.datetime64(START), np.datetime64(END), dtype="datetime64[D]")
    months = (days.astype("datetime64[M]").astype(int) % 12) + 1
    season = np.array([TRUTH["seasonality"]["order_volume"][str(m)] for m in months])
    weekday = (days.astype(int) + 3) % 7  # 0 = Monday
    week = np.where(weekday >= 5, 0.9, 1.04)
    trend = 1.0 + 0.10 * np.arange(len(days)) / 365.0
    return days, season * week * trend


def _times(rng: np.random.Generator, day_index: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Local order times (naive, minutes) on the given days, with an evening-heavy profile."""
    profile = np.array(
        [2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 10, 9, 8, 8, 8, 9, 11, 13, 14, 12, 8, 4], float
    )
    hour = rng.choice(24, size=len(day_index), p=profile / profile.sum())
    minute = rng.integers(0, 60, len(day_index))
    second = rng.integers(0, 60, len(day_index))
    base = days[day_index].astype("datetime64[s]")
    return base + (hour * 3600 + minute * 60 + second).astype("timedelta64[s]")


def _pick(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


# --------------------------------------------------------------------- generation


def generate(scale: float = 1.0, seed: int = SEED) -> dict[str, pl.DataFrame]:
    """Generate the sample shop's canonical tables (polars), about ``30,000 x scale`` orders.

    One named step per planted effect. The steps draw from one random generator in a
    fixed order, so the output is the same byte for byte, and each leaves on the draft
    ``d`` what later steps need.

    Examples
    --------
    >>> tables = generate(scale=0.05)
    >>> sorted(tables)
    ['catalog', 'customers', 'lines', 'orders', 'traffic']
    """
    if not (math.isfinite(scale) and SCALES[0] <= scale <= SCALES[1]):
        raise AovlabInputError(
            "the sample shop's scale is out of range",
            column="scale",
            expected=f"a number from {SCALES[0]} to {SCALES[1]:g} (1 = about 30,000 orders)",
            found=repr(scale),
        )
    rng = np.random.default_rng(seed)
    d = SimpleNamespace(scale=scale)
    _setup(rng, d)
    _customers(rng, d)
    _guests(rng, d)
    _dimensions(rng, d)
    _basket_sizes(rng, d)
    _items(rng, d)
    _business_orders(d)
    _prices(d)
    _discounts(rng, d)
    _free_shipping(rng, d)
    _statuses(rng, d)
    _conversion(rng, d)
    _local_times(d)
    _ids(d)
    _orders_table(d)
    _lines_table(d)
    _customers_table(d)
    return _tables(rng, d)


def _setup(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """The catalogue and the calendar every step draws on."""
    cat = catalog(rng)
    days, volume = _days()
    n_days = len(days)
    cum = np.concatenate([[0.0], np.cumsum(volume)])
    day_of = {day: i for i, day in enumerate(days.astype("datetime64[D]").astype(str))}

    def day_index(date: str) -> int:
        return day_of[date]

    launch = day_index(TRUTH["loyalty"]["launch"])
    d.cat, d.cum, d.day_index, d.days, d.launch, d.n_days, d.volume = (
        cat,
        cum,
        day_index,
        days,
        launch,
        n_days,
        volume,
    )


def _customers(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """Registered customers: sign-up day, order rate, loyalty join day."""
    cum, launch, n_days, scale = d.cum, d.launch, d.n_days, d.scale
    n_customers = round(9000 * scale)
    signup = rng.integers(-365, n_days - 30, n_customers).clip(0, None)
    rate = rng.gamma(0.7, 1.0, n_customers)
    rate *= (17500 * scale) / (rate * (cum[-1] - cum[signup])).sum()
    wait = rng.exponential(120.0, n_customers).astype(int)
    joins = rng.random(n_customers) < TRUTH["loyalty"]["join_share"]
    join_day = np.maximum(signup, launch) + wait
    member = joins & (join_day < n_days)
    join_day = np.where(member, join_day, n_days)

    lift_f = 1 + TRUTH["loyalty"]["frequency_lift"]
    n_pre = rng.poisson(rate * (cum[join_day] - cum[signup]))
    n_post = rng.poisson(rate * lift_f * (cum[n_days] - cum[join_day]))
    cust_pre = np.repeat(np.arange(n_customers), n_pre)
    cust_post = np.repeat(np.arange(n_customers), n_post)

    def sample_days(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        u = cum[lo] + rng.random(len(lo)) * (cum[hi] - cum[lo])
        return np.clip(np.searchsorted(cum, u, side="right") - 1, 0, n_days - 1)

    reg_days = np.concatenate(
        [
            sample_days(signup[cust_pre], join_day[cust_pre]),
            sample_days(join_day[cust_post], np.full(len(cust_post), n_days)),
        ]
    )
    reg_cust = np.concatenate([cust_pre, cust_post])
    reg_member = np.concatenate([np.zeros(len(cust_pre), bool), np.ones(len(cust_post), bool)])
    d.join_day, d.member, d.n_customers, d.reg_cust, d.reg_days, d.reg_member, d.signup = (
        join_day,
        member,
        n_customers,
        reg_cust,
        reg_days,
        reg_member,
        signup,
    )


def _guests(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """Guests: a Poisson count per day."""
    n_days, reg_cust, reg_days, reg_member, scale, volume = (
        d.n_days,
        d.reg_cust,
        d.reg_days,
        d.reg_member,
        d.scale,
        d.volume,
    )
    guest_counts = rng.poisson(volume / volume.sum() * 11500 * scale)
    guest_days = np.repeat(np.arange(n_days), guest_counts)

    order_day = np.concatenate([reg_days, guest_days])
    order_cust = np.concatenate([reg_cust, np.full(len(guest_days), -1)])
    member_order = np.concatenate([reg_member, np.zeros(len(guest_days), bool)])
    n = len(order_day)
    d.member_order, d.n, d.order_cust, d.order_day = member_order, n, order_cust, order_day


def _dimensions(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """Dimensions: device, channel, country, test arm."""
    day_index, days, n, n_customers, order_cust, order_day = (
        d.day_index,
        d.days,
        d.n,
        d.n_customers,
        d.order_cust,
        d.order_day,
    )

    def choose(options: dict[str, float], size: int) -> np.ndarray:
        keys = np.array(list(options))
        return keys[rng.choice(len(keys), size=size, p=np.array(list(options.values())))]

    month = days[order_day].astype("datetime64[M]").astype(str)
    shift = TRUTH["mix_shift"]
    device = np.where(
        month == shift["current"],
        choose(shift["share_current"], n),
        choose(shift["share_before"], n),
    )
    channel = choose(_CHANNELS, n)
    cust_country = choose(_COUNTRIES, n_customers)
    country = np.where(order_cust >= 0, cust_country[order_cust], choose(_COUNTRIES, n))

    ab = TRUTH["ab_test"]
    in_test = (order_day >= day_index(ab["start"])) & (order_day <= day_index(ab["end"]))
    arm = np.full(n, None, dtype=object)
    # Sessions are split 50/50, so the test's orders are too, before arm B's loss: half
    # of them (by the rank of one uniform draw each, a random permutation) go to A.
    draw = rng.random(n)
    tested = np.flatnonzero(in_test)
    shuffled = tested[np.argsort(draw[tested], kind="stable")]
    arm[shuffled[: len(shuffled) // 2]] = "A"
    arm[shuffled[len(shuffled) // 2 :]] = "B"
    d.ab, d.arm, d.channel, d.country, d.cust_country, d.device, d.month, d.shift = (
        ab,
        arm,
        channel,
        country,
        cust_country,
        device,
        month,
        shift,
    )


def _basket_sizes(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """Basket sizes: device, membership and December lift."""
    device, member_order, month, shift = d.device, d.member_order, d.month, d.shift
    factor = np.vectorize(shift["basket_factor"].get)(device).astype(float)
    factor *= np.where(member_order, 1 + TRUTH["loyalty"]["aov_lift"], 1.0)
    factor *= np.where(
        np.char.endswith(month.astype(str), "-12"),
        1 + TRUTH["seasonality"]["december_basket_lift"],
        1.0,
    )
    expected_items = _BASE_ITEMS * factor
    n_items = 1 + rng.poisson(expected_items - 1)
    d.n_items = n_items


def _items(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """Items: SKUs by weight, the planted pairs and the summer add-on."""
    cat, day_index, month, n, n_items, order_day, shift = (
        d.cat,
        d.day_index,
        d.month,
        d.n,
        d.n_items,
        d.order_day,
        d.shift,
    )
    rise = TRUTH["price_rise"]
    rise_day = day_index(rise["date"])
    weights = cat["weight"].to_numpy()
    is_best = cat["sku"].is_in(rise["skus"]).to_numpy()
    after = weights * np.where(is_best, (1 + rise["rise"]) ** rise["elasticity"], 1.0)
    cdf_before = np.cumsum(weights / weights.sum())
    cdf_after = np.cumsum(after / after.sum())
    item_order = np.repeat(np.arange(n), n_items)
    item_after = order_day[item_order] >= rise_day
    sku_idx = np.where(
        item_after, _pick(rng, cdf_after, len(item_order)), _pick(rng, cdf_before, len(item_order))
    )
    qty = rng.choice([1, 2, 3], size=len(item_order), p=[0.86, 0.11, 0.03])

    skus = cat["sku"].to_list()
    index_of = {s: i for i, s in enumerate(skus)}
    extra_order, extra_sku = [item_order[:0]], [sku_idx[:0]]
    for pair in TRUTH["pairs"]:
        has_a = sku_idx == index_of[pair["a"]]
        add = has_a & (rng.random(len(sku_idx)) < pair["p"])
        extra_order.append(item_order[add])
        extra_sku.append(np.full(int(add.sum()), index_of[pair["b"]]))
    in_shift = month == shift["current"]
    addon = in_shift & (rng.random(n) < shift["rate_addon_share"])
    extra_order.append(np.nonzero(addon)[0])
    extra_sku.append(np.full(int(addon.sum()), index_of[shift["rate_addon_sku"]]))
    (
        d.extra_order,
        d.extra_sku,
        d.index_of,
        d.is_best,
        d.item_order,
        d.qty,
        d.rise,
        d.rise_day,
        d.sku_idx,
    ) = extra_order, extra_sku, index_of, is_best, item_order, qty, rise, rise_day, sku_idx


def _business_orders(d: SimpleNamespace) -> None:
    """The four business orders of the large-order month."""
    (
        arm,
        channel,
        country,
        device,
        extra_order,
        extra_sku,
        index_of,
        item_order,
        member_order,
        n,
        order_cust,
        order_day,
        qty,
        sku_idx,
    ) = (
        d.arm,
        d.channel,
        d.country,
        d.device,
        d.extra_order,
        d.extra_sku,
        d.index_of,
        d.item_order,
        d.member_order,
        d.n,
        d.order_cust,
        d.order_day,
        d.qty,
        d.sku_idx,
    )
    big = TRUTH["large_orders"]
    first = (dt.date.fromisoformat(big["month"] + "-01") - START).days
    big_days = first + np.array([3, 9, 17, 24])
    big_ids = np.arange(n, n + big["count"])
    big_skus = np.array(
        [index_of["JA-001"], index_of["TE-001"], index_of["BP-001"], index_of["FW-003"]]
    )
    big_qty = np.array([40, 25, 60, 30])
    n_total = n + big["count"]

    order_day = np.concatenate([order_day, big_days])
    order_cust = np.concatenate([order_cust, -1 - np.arange(1, big["count"] + 1)])
    device = np.concatenate([device, np.full(big["count"], "desktop")])
    channel = np.concatenate([channel, np.full(big["count"], "direct")])
    country = np.concatenate([country, np.array(["SE", "NO", "DE", "SE"])])
    arm = np.concatenate([arm, np.full(big["count"], None)])
    member_order = np.concatenate([member_order, np.zeros(big["count"], bool)])

    line_order = np.concatenate([item_order, *extra_order, big_ids])
    line_sku = np.concatenate([sku_idx, *extra_sku, big_skus])
    line_qty = np.concatenate([qty, np.ones(sum(len(e) for e in extra_order), int), big_qty])
    (
        d.arm,
        d.big,
        d.big_days,
        d.big_ids,
        d.channel,
        d.country,
        d.device,
        d.line_order,
        d.line_qty,
        d.line_sku,
        d.n_total,
        d.order_cust,
        d.order_day,
    ) = (
        arm,
        big,
        big_days,
        big_ids,
        channel,
        country,
        device,
        line_order,
        line_qty,
        line_sku,
        n_total,
        order_cust,
        order_day,
    )


def _prices(d: SimpleNamespace) -> None:
    """Prices: list price, the best-sellers' rise, arm B's +5 %."""
    ab, arm, cat, is_best, line_order, line_qty, line_sku, n_total, order_day, rise, rise_day = (
        d.ab,
        d.arm,
        d.cat,
        d.is_best,
        d.line_order,
        d.line_qty,
        d.line_sku,
        d.n_total,
        d.order_day,
        d.rise,
        d.rise_day,
    )
    list_price = cat["unit_price"].to_numpy()[line_sku]
    unit_cost = cat["unit_cost"].to_numpy()[line_sku]
    line_day = order_day[line_order]
    price = list_price * np.where(is_best[line_sku] & (line_day >= rise_day), 1 + rise["rise"], 1.0)
    price = price * np.where(arm[line_order] == "B", 1 + ab["price_lift_b"], 1.0)
    price = np.round(price, 2)

    lines = (
        pl.DataFrame(
            {
                "o": line_order,
                "s": line_sku,
                "quantity": line_qty,
                "unit_price": price,
                "unit_cost": unit_cost,
            }
        )
        .group_by("o", "s", "unit_price", "unit_cost")
        .agg(pl.col("quantity").sum())
    )
    merch = np.zeros(n_total)
    np.add.at(merch, lines["o"].to_numpy(), (lines["quantity"] * lines["unit_price"]).to_numpy())
    d.lines, d.merch = lines, merch


def _discounts(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """Discounts: a welcome code on first orders, seasonal campaigns."""
    big_ids, days, merch, n_total, order_cust, order_day = (
        d.big_ids,
        d.days,
        d.merch,
        d.n_total,
        d.order_cust,
        d.order_day,
    )
    order_time = _times(rng, order_day, days)
    code = np.full(n_total, None, dtype=object)
    pct = np.zeros(n_total)
    order_keys = np.lexsort((order_time, order_cust))
    first_of_cust = np.zeros(n_total, bool)
    sorted_cust = order_cust[order_keys]
    first_of_cust[order_keys] = np.concatenate([[True], sorted_cust[1:] != sorted_cust[:-1]]) & (
        sorted_cust >= 0
    )
    welcome = first_of_cust & (rng.random(n_total) < 0.5)
    code[welcome], pct[welcome] = "WELCOME10", 0.10
    month_num = days[order_day].astype("datetime64[M]").astype(int) % 12 + 1
    summer = np.isin(month_num, [6, 7]) & ~welcome & (rng.random(n_total) < 0.15)
    code[summer], pct[summer] = "SUMMER15", 0.15
    day_str = days[order_day].astype(str)
    black = np.isin(
        day_str,
        ["2024-11-29", "2024-11-30", "2024-12-01", "2025-11-28", "2025-11-29", "2025-11-30"],
    )
    bf = black & ~welcome & (rng.random(n_total) < 0.6)
    code[bf], pct[bf] = "BLACKFRIDAY20", 0.20
    big_mask = np.zeros(n_total, bool)
    big_mask[big_ids] = True
    code[big_mask], pct[big_mask] = None, 0.0
    discount = np.round(merch * pct, 2)
    d.big_mask, d.code, d.discount, d.order_time, d.pct = big_mask, code, discount, order_time, pct


def _free_shipping(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """The free-shipping threshold and the top-up it causes."""
    (
        ab,
        arm,
        big_mask,
        cat,
        country,
        day_index,
        discount,
        index_of,
        lines,
        merch,
        n_total,
        order_day,
        pct,
        rise,
        rise_day,
    ) = (
        d.ab,
        d.arm,
        d.big_mask,
        d.cat,
        d.country,
        d.day_index,
        d.discount,
        d.index_of,
        d.lines,
        d.merch,
        d.n_total,
        d.order_day,
        d.pct,
        d.rise,
        d.rise_day,
    )
    fs = TRUTH["free_shipping"]
    threshold = np.where(
        order_day >= day_index(fs["date"]), fs["threshold_after"], fs["threshold_before"]
    )
    net = merch - discount
    near = (net < threshold) & (net >= threshold - fs["top_up_window"]) & ~big_mask
    top_up = near & (rng.random(n_total) < fs["top_up_share"])
    t_idx = index_of[fs["top_up_sku"]]
    t_price = np.round(
        float(cat["unit_price"][t_idx])
        * np.where(order_day[top_up] >= rise_day, 1 + rise["rise"], 1.0)
        * np.where(arm[top_up] == "B", 1 + ab["price_lift_b"], 1.0),
        2,
    )
    top_lines = pl.DataFrame(
        {
            "o": np.nonzero(top_up)[0],
            "s": np.full(int(top_up.sum()), t_idx),
            "unit_price": t_price,
            "unit_cost": np.full(int(top_up.sum()), cat["unit_cost"][t_idx]),
            "quantity": np.ones(int(top_up.sum()), int),
        }
    )
    lines = (
        pl.concat([lines, top_lines.select(lines.columns)], how="vertical_relaxed")
        .group_by("o", "s", "unit_price", "unit_cost")
        .agg(pl.col("quantity").sum())
    )
    merch = np.zeros(n_total)
    np.add.at(merch, lines["o"].to_numpy(), (lines["quantity"] * lines["unit_price"]).to_numpy())
    merch = np.round(merch, 2)
    discount = np.round(merch * pct, 2)
    net = merch - discount
    fee = np.vectorize(fs["fee"].get)(country).astype(float)
    shipping = np.where(net >= threshold, 0.0, fee)
    vat = np.vectorize(_VAT.get)(country).astype(float)
    tax = np.round((net + shipping) * vat, 2)
    total = np.round(net + shipping + tax, 2)
    d.discount, d.lines, d.merch, d.shipping, d.tax, d.total = (
        discount,
        lines,
        merch,
        shipping,
        tax,
        total,
    )


def _statuses(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """Statuses and refunds."""
    big_mask, n_total, total = d.big_mask, d.n_total, d.total
    u = rng.random(n_total)
    status = np.select(
        [u < 0.015, u < 0.040, u < 0.060, u < 0.063],
        ["cancelled", "refunded", "partially_refunded", "pending"],
        "paid",
    ).astype(object)
    status[big_mask] = "paid"
    refunded = np.select(
        [status == "refunded", status == "cancelled", status == "partially_refunded"],
        [total, total, np.round(total * rng.uniform(0.1, 0.6, n_total), 2)],
        0.0,
    )
    d.refunded, d.status = refunded, status


def _conversion(rng: np.random.Generator, d: SimpleNamespace) -> None:
    """Arm B converts less: 5 % of its orders are dropped."""
    ab, arm, big_mask, n_total = d.ab, d.arm, d.big_mask, d.n_total
    keep = ~((arm == "B") & (rng.random(n_total) >= 1 + ab["conversion_lift_b"]))
    keep[big_mask] = True
    d.keep = keep


def _local_times(d: SimpleNamespace) -> None:
    """Local wall-clock times (one in the spring-forward gap moves on)."""
    order_time = d.order_time
    naive = pl.Series("t", order_time.astype("datetime64[us]"))
    local = naive.dt.replace_time_zone(TIMEZONE, ambiguous="earliest", non_existent="null")
    shifted = (naive + dt.timedelta(hours=1)).dt.replace_time_zone(
        TIMEZONE, ambiguous="earliest", non_existent="null"
    )
    ordered_at = local.fill_null(shifted)
    d.ordered_at = ordered_at


def _ids(d: SimpleNamespace) -> None:
    """Order ids in time order."""
    big, n_customers, n_total, order_cust, ordered_at = (
        d.big,
        d.n_customers,
        d.n_total,
        d.order_cust,
        d.ordered_at,
    )
    order = np.lexsort((np.arange(n_total), ordered_at.dt.epoch("us").to_numpy()))
    rank = np.empty(n_total, int)
    rank[order] = np.arange(n_total)
    order_id = (100001 + rank).astype(str)

    cust_ids = np.array(
        [f"C{i + 100001:06d}" for i in range(n_customers)]
        + [f"B{i:03d}" for i in range(1, big["count"] + 1)]
    )
    cust_map = np.where(order_cust >= 0, order_cust, n_customers - order_cust - 2)
    customer_id = cust_ids[np.clip(cust_map, 0, len(cust_ids) - 1)].astype(object)
    customer_id[order_cust == -1] = None
    d.cust_ids, d.customer_id, d.order_id, d.rank = cust_ids, customer_id, order_id, rank


def _orders_table(d: SimpleNamespace) -> None:
    """The orders table (and who the sessions came from, for traffic)."""
    (
        arm,
        channel,
        code,
        country,
        customer_id,
        device,
        discount,
        keep,
        merch,
        order_id,
        ordered_at,
        rank,
        refunded,
        shipping,
        status,
        tax,
        total,
    ) = (
        d.arm,
        d.channel,
        d.code,
        d.country,
        d.customer_id,
        d.device,
        d.discount,
        d.keep,
        d.merch,
        d.order_id,
        d.ordered_at,
        d.rank,
        d.refunded,
        d.shipping,
        d.status,
        d.tax,
        d.total,
    )
    orders = pl.DataFrame(
        {
            "order_id": order_id,
            "customer_id": pl.Series(customer_id.tolist(), dtype=pl.String),
            "ordered_at": ordered_at,
            "merchandise": merch,
            "discount": discount,
            "shipping": shipping,
            "tax": tax,
            "total": total,
            "refunded": refunded,
            "status": status.astype(str),
            "channel": channel,
            "device": device,
            "country": country,
            "discount_code": pl.Series(code.tolist(), dtype=pl.String),
            "ab_arm": pl.Series(arm.tolist(), dtype=pl.String),
            "__keep": keep,
            "__rank": rank,
        }
    )
    sessions_src = orders.select("ordered_at", "channel", "ab_arm")
    orders = orders.filter(pl.col("__keep")).sort("__rank").drop("__keep", "__rank")
    d.orders, d.sessions_src = orders, sessions_src


def _lines_table(d: SimpleNamespace) -> None:
    """The lines of the orders kept, with SKU names and categories."""
    cat, keep, lines, n_total, order_id = d.cat, d.keep, d.lines, d.n_total, d.order_id
    lines = (
        lines.join(
            pl.DataFrame({"o": np.arange(n_total), "order_id": order_id, "keep": keep}), on="o"
        )
        .filter(pl.col("keep"))
        .join(
            cat.with_row_index("s").select(
                pl.col("s").cast(pl.Int64), "sku", "product", "category"
            ),
            on="s",
        )
        .select(
            "order_id",
            "sku",
            "product",
            "category",
            pl.col("quantity").cast(pl.Int64),
            "unit_price",
            "unit_cost",
        )
        .sort(pl.col("order_id").cast(pl.Int64), "sku")
    )
    d.lines = lines


def _customers_table(d: SimpleNamespace) -> None:
    """The registered customers and the four business buyers."""
    big, big_days, cust_country, cust_ids, days, join_day, member, n_customers, n_days, signup = (
        d.big,
        d.big_days,
        d.cust_country,
        d.cust_ids,
        d.days,
        d.join_day,
        d.member,
        d.n_customers,
        d.n_days,
        d.signup,
    )
    customers = pl.DataFrame(
        {
            "customer_id": cust_ids[:n_customers],
            "signed_up_at": days[signup].astype(str),
            "country": cust_country,
            "loyalty_member": member,
            "loyalty_joined_at": pl.Series(days[np.minimum(join_day, n_days - 1)].astype(str))
            .to_frame()
            .select(pl.when(pl.lit(pl.Series(member))).then(pl.first()))
            .to_series(),
        }
    )
    business = pl.DataFrame(
        {
            "customer_id": cust_ids[n_customers:],
            "signed_up_at": [str(days[d]) for d in big_days],
            "country": ["SE", "NO", "DE", "SE"],
            "loyalty_member": [False] * big["count"],
            "loyalty_joined_at": [None] * big["count"],
        },
        schema_overrides={"loyalty_joined_at": pl.String},
    )
    customers = pl.concat([customers, business])
    d.customers = customers


def _tables(rng: np.random.Generator, d: SimpleNamespace) -> dict[str, pl.DataFrame]:
    """The canonical tables: orders, lines, customers, catalogue, traffic."""
    cat, customers, lines, orders, sessions_src = (
        d.cat,
        d.customers,
        d.lines,
        d.orders,
        d.sessions_src,
    )
    traffic = _traffic(rng, sessions_src)
    cat_out = cat.select("sku", "product", "category", "unit_price", "unit_cost")
    return {
        "orders": orders,
        "lines": lines,
        "customers": customers,
        "catalog": cat_out,
        "traffic": traffic,
    }


def _traffic(rng: np.random.Generator, orders: pl.DataFrame) -> pl.DataFrame:
    """Daily sessions by channel, and by test arm in the A/B window, from the orders drawn.

    A day and channel's sessions are its orders over the channel's conversion rate, with
    some noise. In the A/B window they are the orders arm B would have had without its
    loss, over that rate, split 50/50 between the arms by a binomial draw: arm B, which
    lost 5 % of its orders, converts 5 % less.
    """
    ab = TRUTH["ab_test"]
    counts = (
        orders.with_columns(pl.col("ordered_at").dt.date().alias("date"))
        .group_by("date", "channel", "ab_arm")
        .agg(pl.len().alias("orders"))
    )
    days, _ = _days()
    grid = pl.DataFrame({"date": days.astype("datetime64[D]")}).join(
        pl.DataFrame({"channel": list(_CHANNELS)}), how="cross"
    )
    counts = (
        grid.join(counts, on=["date", "channel"], how="left")
        .with_columns(pl.col("orders").fill_null(0))
        .sort("date", "channel", pl.col("ab_arm").fill_null(""))
    )
    # One noise draw per (day, channel, arm) row, as the sample has always drawn them.
    counts = counts.with_columns(pl.Series("noise", rng.lognormal(0.0, 0.06, len(counts))))
    start, end = (dt.date.fromisoformat(ab[k]) for k in ("start", "end"))
    b_orders = (pl.col("ab_arm") == "B").cast(pl.Float64) * pl.col("orders")
    cells = (
        counts.group_by("date", "channel", maintain_order=True)
        .agg(
            (
                pl.col("orders").sum() + b_orders.sum() * (1 / (1 + ab["conversion_lift_b"]) - 1)
            ).alias("reach"),
            pl.col("noise").first(),
        )
        .with_columns(pl.col("date").is_between(start, end).alias("tested"))
    )
    cr = cells["channel"].replace_strict(_CONVERSION, return_dtype=pl.Float64).to_numpy()
    sessions = np.round((cells["reach"].to_numpy() + 0.5) / cr * cells["noise"].to_numpy())
    cells = cells.with_columns(pl.Series("sessions", sessions.astype(np.int64)))
    tested = cells.filter(pl.col("tested"))
    to_a = rng.binomial(tested["sessions"].to_numpy(), 0.5)
    parts = [
        cells.filter(~pl.col("tested")).with_columns(pl.lit(None, dtype=pl.String).alias("arm")),
        tested.with_columns(pl.lit(ab["arms"][0]).alias("arm"), pl.Series("sessions", to_a)),
        tested.with_columns(
            pl.lit(ab["arms"][1]).alias("arm"), pl.col("sessions") - pl.Series(to_a)
        ),
    ]
    return (
        pl.concat([p.select("date", "channel", "arm", "sessions") for p in parts])
        .select(pl.col("date").cast(pl.String), "channel", "arm", "sessions")
        .sort("date", "channel", pl.col("arm").fill_null(""))
    )


# --------------------------------------------------------------------- files


def write(out: str | Path, scale: float = 1.0, seed: int = SEED) -> list[Path]:
    """Write the sample shop's canonical CSVs, shop.json and README.md into ``out``.

    The output is byte-for-byte reproducible for the same scale and seed.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    tables = generate(scale=scale, seed=seed)
    orders = tables["orders"].with_columns(
        pl.col("ordered_at").dt.to_string("%Y-%m-%dT%H:%M:%S%:z")
    )
    written = []
    for name, frame in (
        ("orders", orders),
        ("lines", tables["lines"]),
        ("customers", tables["customers"]),
        ("catalog", tables["catalog"]),
        ("traffic", tables["traffic"]),
    ):
        path = folder / f"{name}.csv"
        frame.write_csv(path, float_precision=2, line_terminator="\n")
        written.append(path)
    shopify = folder / SHOPIFY_FILE
    to_shopify(tables).write_csv(shopify, line_terminator="\n")
    written.append(shopify)
    woo = folder / WOOCOMMERCE_FILE
    to_woocommerce(tables).write_csv(woo, line_terminator="\n")
    written.append(woo)
    written.extend(write_european(tables, folder / EUROPEAN_DIR))
    meta = folder / SHOP_FILE
    meta.write_text(
        json.dumps({"name": NAME, "currency": CURRENCY, "timezone": TIMEZONE}, indent=2) + "\n",
        encoding="utf-8",
    )
    readme = folder / "README.md"
    readme.write_text(_readme(tables), encoding="utf-8")
    return [*written, meta, readme]


def to_woocommerce(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The same shop as a WooCommerce item export: order fields repeat on every item row.

    Registered customers keep their number (C100001 -> 100001); guests are customer 0
    with no email, so they stay guests.
    """
    status = pl.col("status")
    orders = tables["orders"].select(
        "order_id",
        pl.col("order_id").alias("order_number"),
        pl.col("ordered_at").dt.to_string("%Y-%m-%d %H:%M:%S").alias("date"),
        pl.when(status == "paid")
        .then(pl.lit("completed"))
        .when(status == "partially_refunded")
        .then(pl.lit("completed"))
        .otherwise(status)
        .alias("status"),
        pl.col("shipping").alias("shipping_total"),
        pl.lit(0.0).alias("shipping_tax_total"),
        pl.lit(0.0).alias("fee_total"),
        pl.lit(0.0).alias("fee_tax_total"),
        pl.col("tax").alias("tax_total"),
        pl.col("discount").alias("discount_total"),
        pl.col("total").alias("order_total"),
        pl.when(status == "cancelled")
        .then(0.0)
        .otherwise(pl.col("refunded"))
        .alias("refunded_total"),
        pl.lit(CURRENCY).alias("order_currency"),
        pl.lit("stripe").alias("payment_method"),
        pl.col("customer_id").str.strip_prefix("C").fill_null("0").alias("customer_id"),
        pl.lit(None, pl.String).alias("billing_email"),
        pl.col("country").alias("billing_country"),
    )
    lines = tables["lines"].select(
        "order_id",
        pl.col("product").alias("item_name"),
        pl.col("sku").alias("item_sku"),
        pl.col("quantity").cast(pl.Float64).alias("item_quantity"),
        (pl.col("quantity") * pl.col("unit_price")).round(2).alias("item_subtotal"),
    )
    return (
        lines.join(orders, on="order_id", how="left")
        .select(*orders.columns, "item_name", "item_sku", "item_quantity", "item_subtotal")
        .sort(pl.col("order_id").cast(pl.Int64), maintain_order=True)
    )


def write_european(tables: dict[str, pl.DataFrame], folder: Path) -> list[Path]:
    """Write orders and lines as a Nordic spreadsheet saves them.

    Semicolons, decimal commas, Windows-1252, day-first local dates without offsets
    (23.11.2026 14:05:00).
    """
    folder.mkdir(parents=True, exist_ok=True)
    orders = tables["orders"].with_columns(pl.col("ordered_at").dt.to_string("%d.%m.%Y %H:%M:%S"))
    written = []
    for name, frame in (("orders", orders), ("lines", tables["lines"])):
        path = folder / f"{name}.csv"
        text = frame.write_csv(
            separator=";", decimal_comma=True, float_precision=2, line_terminator="\r\n"
        )
        path.write_bytes(text.encode("cp1252"))
        written.append(path)
    meta = folder / SHOP_FILE
    meta.write_text(
        json.dumps({"name": NAME, "currency": CURRENCY, "timezone": TIMEZONE}, indent=2) + "\n",
        encoding="utf-8",
    )
    return [*written, meta]


def to_shopify(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The same shop as a Shopify "Export orders" CSV: one row per line item.

    Order fields sit on each order's first row only, as Shopify writes them; emails are
    made up from the pseudonymous customer ids (``c100001@example.com``); every 200th
    order also sold a gift card (not merchandise, and inside its Total).
    """
    orders = tables["orders"].with_row_index("__n")
    gift = pl.col("__n") % 200 == 7
    lines = tables["lines"].select(
        "order_id",
        pl.col("quantity").cast(pl.Float64).alias("Lineitem quantity"),
        pl.col("product").alias("Lineitem name"),
        pl.col("unit_price").alias("Lineitem price"),
        pl.col("sku").alias("Lineitem sku"),
        pl.lit("true").alias("Lineitem requires shipping"),
    )
    cards = orders.filter(gift).select(
        "order_id",
        pl.lit(1.0).alias("Lineitem quantity"),
        pl.lit("Gift card 25 EUR").alias("Lineitem name"),
        pl.lit(25.0).alias("Lineitem price"),
        pl.lit(None, pl.String).alias("Lineitem sku"),
        pl.lit("false").alias("Lineitem requires shipping"),
    )
    status = pl.col("status")
    head = orders.select(
        "order_id",
        ("#" + pl.col("order_id")).alias("Name"),
        (pl.col("customer_id").str.to_lowercase() + "@example.com").alias("Email"),
        pl.when(status == "cancelled")
        .then(pl.lit("refunded"))
        .otherwise(status)
        .alias("Financial Status"),
        pl.lit(None, pl.String).alias("Paid at"),
        pl.lit("fulfilled").alias("Fulfillment Status"),
        pl.lit("no").alias("Accepts Marketing"),
        pl.col("currency").fill_null(CURRENCY).alias("Currency")
        if "currency" in orders.columns
        else pl.lit(CURRENCY).alias("Currency"),
        (pl.col("merchandise") - pl.col("discount")).round(2).alias("Subtotal"),
        pl.col("shipping").alias("Shipping"),
        pl.col("tax").alias("Taxes"),
        (pl.col("total") + pl.when(gift).then(25.0).otherwise(0.0)).round(2).alias("Total"),
        pl.col("discount_code").alias("Discount Code"),
        pl.col("discount").alias("Discount Amount"),
        pl.lit("Standard").alias("Shipping Method"),
        pl.col("ordered_at").dt.to_string("%Y-%m-%d %H:%M:%S %z").alias("Created at"),
        pl.lit(None, pl.String).alias("Billing Name"),
        pl.col("country").alias("Shipping Country"),
        pl.when(status == "cancelled")
        .then(pl.col("ordered_at").dt.to_string("%Y-%m-%d %H:%M:%S %z"))
        .alias("Cancelled at"),
        pl.col("refunded").alias("Refunded Amount"),
        pl.col("channel").alias("Source"),
        pl.col("order_id").alias("Id"),
    )
    rows = (
        pl.concat([lines, cards])
        .with_columns(pl.int_range(pl.len()).over("order_id").alias("__i"))
        .join(head, on="order_id", how="left")
    )
    order_fields = [c for c in head.columns if c not in ("order_id", "Name", "Email", "Created at")]
    rows = rows.with_columns(
        *(pl.when(pl.col("__i") == 0).then(pl.col(c)).alias(c) for c in order_fields)
    )
    return rows.sort(pl.col("order_id").cast(pl.Int64), "__i").select(SHOPIFY_COLUMNS)


def _readme(tables: dict[str, pl.DataFrame]) -> str:
    orders = tables["orders"]
    lines_ = [
        f"# {NAME}",
        "",
        "A synthetic European outdoor-gear web shop generated by `aovlab.sample` "
        f"(seed {SEED}). Regenerate byte for byte with `aovlab sample --out data/sample`.",
        "",
        f"- {orders.height:,} orders, {tables['lines'].height:,} lines, "
        f"{tables['customers'].height:,} registered customers, {tables['catalog'].height} SKUs",
        f"- {START} to {END - dt.timedelta(days=1)} ({TIMEZONE}), prices in {CURRENCY} "
        "excluding VAT; total = merchandise - discount + shipping + tax",
        "- countries SE, NO, DK, DE, NL, UK; devices desktop, mobile, tablet; channels "
        + ", ".join(_CHANNELS),
        "- no personal data: customers are pseudonymous ids (C......, business buyers B...)",
        f"- the same orders as exports: `{SHOPIFY_FILE}` (Shopify, with a gift card on every "
        f"200th order), `{WOOCOMMERCE_FILE}` (WooCommerce item rows) and `{EUROPEAN_DIR}/` "
        "(semicolons, decimal commas, Windows-1252, day-first dates); each gives the same KPIs",
        "",
        "## Planted effects (true sizes)",
        "",
        "The same numbers live in `aovlab.sample.TRUTH`; the tests recover them.",
        "",
    ]
    for key, value in TRUTH.items():
        lines_.append(f"### {key}")
        lines_.append("")
        lines_.append("```json")
        lines_.append(json.dumps(value, indent=2, ensure_ascii=False))
        lines_.append("```")
        lines_.append("")
    return "\n".join(lines_)


def load(backend: str = "polars", folder: str | Path | None = None) -> ShopData:
    """Load the bundled sample shop (all five tables) as a validated ShopData.

    Examples
    --------
    >>> shop = load()
    >>> shop.name
    'Nordic Trail Outfitters (sample)'
    """
    base = Path(folder) if folder is not None else DATA_DIR
    if not (base / "orders.csv").exists():
        raise FileNotFoundError(f"no sample data in {base}: run `aovlab sample --out {base}`")
    return _load(
        orders=base / "orders.csv",
        lines=base / "lines.csv",
        customers=base / "customers.csv",
        catalog=base / "catalog.csv",
        traffic=base / "traffic.csv",
        backend=backend,
    )
