"""Suggested bundles: the pairs bought together, ranked by what a bundle of them would earn.

A pair that is bought together more often than chance (:func:`~aovlab.bundles.pairs`,
significant, lift above 1) is priced as a bundle at a default discount
(:func:`~aovlab.bundles.margin.margins`, every pair in one engine pass), and the pairs
are ranked by the margin change per 1,000 orders at a modest take rate, with the
break-even take rate next to it. The top suggestion is what the notebook's margin
calculator evaluates when no bundle is given.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import altair as alt
import narwhals.stable.v2 as nw
import numpy as np

from aovlab import fmt
from aovlab.bundles.margin import _check_offer, _check_take_rate, margins
from aovlab.bundles.pairs import Pairs, pairs
from aovlab.compare import small_frame
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData
from aovlab.results import Formats, Result, Section

__all__ = ["MAX_CANDIDATES", "Suggestions", "suggest"]

#: The most pairs priced as bundles (the strongest by lift); a shop with thousands of
#: significant pairs still gets its suggestions in one small engine pass.
MAX_CANDIDATES = 50


@dataclass(repr=False)
class Suggestions(Result):
    """Candidate bundles ranked by margin change per 1,000 orders at ``take_rate``."""

    discount: float = 0.10
    take_rate: float = 0.05
    period: str = ""
    pairs_tested: int = 0
    significant: int = 0

    formats: ClassVar[Formats] = {
        "a": "text",
        "b": "text",
        "a_product": "text",
        "b_product": "text",
        "orders": "count",
        "lift": "number",
        "list_price": "money",
        "bundle_price": "money",
        "margin_per_bundle": "money",
        "discount_given_away_per_month": "money",
        "break_even_take_rate": "share",
        "margin_change_per_1000_orders": "change",
        "aov_change": "change",
    }

    @property
    def best(self) -> list[str]:
        """The SKUs of the top suggestion (a clear error when there is none)."""
        frame = nw.from_native(self.table, eager_only=True)
        if not frame.shape[0]:
            raise AovlabInputError(
                "no suggested bundle to evaluate",
                expected="a pair bought together more often than chance, with unit costs",
                found=self.headline,
            )
        row = frame.row(0)
        names = frame.columns
        return [str(row[names.index("a")]), str(row[names.index("b")])]

    def _headline(self) -> str:
        frame = nw.from_native(self.table, eager_only=True)
        if not frame.shape[0]:
            if not self.significant:
                tested = (
                    "the one pair tested does not pass"
                    if self.pairs_tested == 1
                    else f"none of {fmt.count(self.pairs_tested)} pairs passes the test"
                )
                return (
                    f"No pair is bought together more often than chance in {self.period} "
                    f"({tested}), so no bundle is suggested"
                )
            return (
                f"{fmt.counted(self.significant, 'pair')} bought together more often than chance "
                f"in {self.period}, but none has unit costs to price a bundle (give a cost rate)"
            )
        money = fmt.in_currency(self.currency)[0]
        top = dict(zip(frame.columns, frame.row(0), strict=True))
        a, b = top["a_product"], top["b_product"]
        text = (
            f"{a} and {b} are bought together {fmt.number(top['lift'], 1)} times as often as "
            f"chance ({fmt.counted(int(top['orders']), 'order')} in {self.period}). "
            f"A {fmt.pct(self.discount, digits=0)} bundle gives away "
            f"{money(top['discount_given_away_per_month'])} a month on orders that already "
            "have both"
        )
        even = top["break_even_take_rate"]
        if even is None or even != even or even > 1:
            text += "; it never pays, whatever the take rate"
        else:
            text += (
                f"; it pays when {fmt.pct(even, digits=1)} of the orders with only one of them "
                "add the other"
            )
        gainers = int(frame.filter(nw.col("margin_change_per_1000_orders") > 0).shape[0])
        text += (
            f". At a {fmt.pct(self.take_rate, digits=0)} take rate, "
            f"{fmt.counted(gainers, 'suggested bundle')} of {frame.shape[0]} would add margin."
        )
        return text

    def sections(self) -> list[Section]:
        """The suggestions by product name (the SKU codes and AOV stay in ``table``)."""
        shown = [c for c in self.formats if c not in ("a", "b", "list_price", "aov_change")]
        frame = nw.from_native(self.table, eager_only=True).select(shown)
        note = (
            f"Each pair at {fmt.pct(self.discount, digits=0)} off; the margin change is at a "
            f"take rate of {fmt.pct(self.take_rate, digits=0)} of the orders that hold one of "
            "the two. One take rate for every pair favours pairs whose items are seldom "
            "bought together yet often alone: read the break-even take rate next to it."
        )
        return [Section(frame.to_native(), {c: self.formats[c] for c in shown}, note=note)]

    def to_dict(self) -> dict[str, Any]:
        """The headline, the parameters and one object per suggested bundle."""
        return {
            "headline": self.headline,
            "currency": self.currency,
            "period": self.period,
            "discount": self.discount,
            "take_rate": self.take_rate,
            "suggestions": self.rows(),
        }

    def chart(self) -> Any:
        """Margin change per 1,000 orders of each suggested bundle, break-even in the tooltip."""
        from aovlab import charts

        frame = nw.from_native(self.table, eager_only=True)
        if not frame.shape[0]:
            return charts.message("No bundle to suggest")
        data = frame.select(
            (nw.col("a_product") + nw.lit(" + ") + nw.col("b_product")).alias("bundle"),
            "margin_change_per_1000_orders",
            "break_even_take_rate",
            "lift",
            "orders",
        ).to_native()
        money = alt.Axis(format=",.0f")
        base = alt.Chart(charts._data(nw.from_native(data, eager_only=True)))
        return (
            base.mark_bar()
            .encode(
                y=alt.Y("bundle:N", sort=None, title=None, axis=alt.Axis(labelLimit=360)),
                x=alt.X(
                    "margin_change_per_1000_orders:Q",
                    title=f"Margin change per {fmt.count(1000)} orders at a {fmt.pct(self.take_rate, digits=0)} "
                    f"take rate ({self.currency or ''})",
                    axis=money,
                ),
                color=alt.condition(
                    alt.datum.margin_change_per_1000_orders > 0,
                    alt.value("#2a7f62"),
                    alt.value("#c0504d"),
                ),
                tooltip=[
                    alt.Tooltip("bundle:N", title="Bundle"),
                    alt.Tooltip(
                        "margin_change_per_1000_orders:Q",
                        format=",.2f",
                        title=f"Margin / {fmt.count(1000)} orders",
                    ),
                    alt.Tooltip(
                        "break_even_take_rate:Q", format=".1%", title="Break-even take rate"
                    ),
                    alt.Tooltip("lift:Q", format=".1f", title="Lift"),
                    alt.Tooltip("orders:Q", format=",", title="Orders together"),
                ],
            )
            .properties(
                title=f"Suggested bundles at {fmt.pct(self.discount, digits=0)} off", width=420
            )
        )


def suggest(
    shop: ShopData,
    found: Pairs | None = None,
    *,
    discount: float = 0.10,
    take_rate: float = 0.05,
    cost_rate: float | None = None,
    top: int = 10,
    when: str | None = None,
) -> Suggestions:
    """The pairs bought together, priced as bundles and ranked by the margin they would add.

    Parameters
    ----------
    shop : ShopData
        A shop with order lines (and unit costs, or give ``cost_rate``).
    found : Pairs, optional
        SKU pairs from :func:`~aovlab.bundles.pairs` (computed here over ``when`` if
        not given; their period is used).
    discount : float
        Each bundle's discount on its items' prices (default 10 %).
    take_rate : float
        Share of the orders with one of the two items whose buyer takes the bundle.
    cost_rate : float, optional
        Unit cost as a share of price, for SKUs without a cost.
    top : int
        How many suggestions to keep.
    when : str, optional
        The period, when ``found`` is not given (default: the 12 months to the last order).

    Returns
    -------
    Suggestions
        ``table``: one row per bundle (``a``, ``b``, products, ``orders`` together, ``lift``,
        prices, ``margin_per_bundle``, ``discount_given_away`` per month,
        ``break_even_take_rate``, ``margin_change_per_1000_orders``, ``aov_change``), best
        first; ``best``: the SKUs of the top one.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> s = suggest(shop)
    >>> planted = {"FW-003+CA-001", "TE-001+AC-009", "CO-009+CO-002"}
    >>> planted <= set(s.table["a"] + "+" + s.table["b"])
    True
    >>> s.best == [s.table["a"][0], s.table["b"][0]]
    True
    """
    discount = float(_check_offer(None, discount)[1] or 0.0)
    take_rate = _check_take_rate(take_rate)
    if isinstance(top, bool | np.bool_) or not isinstance(top, numbers.Integral) or top < 1:
        raise AovlabInputError(
            "top is out of range", expected="a whole number, 1 or more", found=repr(top)
        )
    top = int(top)
    found = pairs(shop, when=when) if found is None else found
    if not isinstance(found, Pairs):
        raise AovlabInputError(
            "cannot suggest bundles without pairs",
            expected="the result of aovlab.bundles.pairs",
            found=getattr(found, "headline", repr(found)),
        )
    if found.level != "sku":
        raise AovlabInputError(
            "suggests bundles of products, not of categories",
            expected="pairs found with level='sku'",
            found=f"level={found.level!r}",
        )
    frame = nw.from_native(found.table, eager_only=True)
    chosen = (
        frame.filter(nw.col("significant") & (nw.col("lift") > 1))
        .sort("lift", descending=True)
        .head(MAX_CANDIDATES)
    )
    significant = int(frame.filter(nw.col("significant")).shape[0])
    native = nw.get_native_namespace(frame)
    columns = list(Suggestions.formats)
    if not chosen.shape[0]:
        table = small_frame({c: [] for c in columns}, native).to_native()
    else:
        bundles = [[str(a), str(b)] for a, b in chosen.select("a", "b").iter_rows()]
        priced = nw.from_native(
            margins(
                shop,
                bundles,
                discount=discount,
                take_rate=take_rate,
                cost_rate=cost_rate,
                when=found.period,
            ),
            eager_only=True,
        )
        merged = (
            chosen.select("a", "b", "a_product", "b_product", "orders", "lift")
            .with_columns((nw.col("a") + nw.lit("+") + nw.col("b")).alias("skus"))
            .join(priced.drop("orders", strict=False), on="skus", how="inner")
            .filter(~nw.col("margin_change_per_1000_orders").is_null())
            .sort(["margin_change_per_1000_orders", "lift"], descending=True)
            .head(top)
        )
        table = merged.select(*columns).to_native()
    return Suggestions(
        table=table,
        currency=shop.currency,
        discount=discount,
        take_rate=take_rate,
        period=found.period,
        pairs_tested=int(found.family),
        significant=significant,
    )
