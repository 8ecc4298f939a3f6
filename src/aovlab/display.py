"""How results read to a person: column labels, formatted cells, one table renderer.

Every table a person sees (in a notebook, the report, the spreadsheet) goes through this
module, while ``result.table`` keeps the tidy machine names for code. A column is shown
with a human label (:data:`LABELS`; a dimension by its plain words, "Country"), and each
cell by its *kind*:

=========  =====================================  ==============
kind       what it is                             shown as
=========  =====================================  ==============
money      an amount in the shop's currency       €94.47, −€4.10
change     an amount that is a change or effect   +€8.29, −€4.10
share      a fraction                             2.5 %
count      a whole number                         4,234
number     a plain number                         2.46
quantity   units (whole unless sold by weight)    2,906 / 12.50
flag       true/false                             yes / blank
p          a p-value                              0.0032, < 0.0001
text       anything else                          as it is
=========  =====================================  ==============

Figures are written in the current locale (:mod:`aovlab.locales`): in ``de`` the money
row reads 94,47 €, −4,10 €, the share 2,5 %. Client text (product names, discount codes)
is escaped; negative amounts never wrap after their minus sign.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import narwhals.stable.v2 as nw

from aovlab import fmt

#: How a column is shown: money, share (a fraction shown as %), count, number, flag, text.
Formats = dict[str, str]

#: Human labels of the machine column names. ``{baseline}`` and ``{current}`` are filled
#: with the periods a result compares, ``{thousand}`` and ``{one_percent}`` with those
#: figures in the current locale ("1,000", "1.000").
LABELS: dict[str, str] = {
    "orders": "Orders",
    "revenue": "Revenue",
    "aov": "AOV",
    "median_order_value": "Median order",
    "trimmed_aov": "Trimmed AOV",
    "top1pct_revenue_share": "Top {one_percent} of orders' revenue share",
    "units": "Units",
    "upt": "Units per order",
    "aur": "Revenue per unit",
    "margin_per_order": "Margin per order",
    "cost_coverage": "Revenue with known costs",
    "sessions": "Sessions",
    "conversion_rate": "Conversion rate",
    "customers": "Customers",
    "purchase_frequency": "Orders per customer",
    "repeat_rate": "Repeat rate",
    "revenue_per_customer": "Revenue per customer",
    "clv_historic": "Margin per customer (historic CLV)",
    "clv_to_cac": "CLV : CAC",
    "customer_id": "Customer",
    "customer_share": "Share of customers",
    "revenue_share": "Share of revenue",
    "cumulative_share": "Cumulative share of revenue",
    "orders_per_customer": "Orders per customer",
    "recency_days": "Days since last order",
    "monetary_score": "Mean M score",
    "rule": "Scores",
    "top_pct": "Top customers",
    "split": "Split",
    "part": "Effect of",
    "effect": "Effect",
    "share_of_change": "Share of the change",
    "period": "Period",
    "label": "Dates",
    "baseline_orders": "Orders {baseline}",
    "current_orders": "Orders {current}",
    "baseline_share": "Share {baseline}",
    "current_share": "Share {current}",
    "baseline_aov": "AOV {baseline}",
    "current_aov": "AOV {current}",
    "mix": "Mix effect",
    "rate": "Rate effect",
    "contribution": "Contribution",
    "gap": "AOV ÷ median",
    "flagged": "Flagged",
    "outlier_orders": "Orders listed",
    "aov_without_outliers": "AOV without the listed orders",
    "order_id": "Order",
    "value": "Order value",
    "share_of_revenue": "Share of revenue",
    "mean_shift": "Moves AOV by",
    "aov_without": "AOV without it",
    "category": "Category",
    "sku": "SKU",
    "product": "Product",
    "baseline_per_order": "Per order {baseline}",
    "current_per_order": "Per order {current}",
    "change": "Change",
    "volume": "From volume",
    "price": "From price",
    "baseline_units_per_order": "Units per order {baseline}",
    "current_units_per_order": "Units per order {current}",
    "baseline_unit_price": "Unit price {baseline}",
    "current_unit_price": "Unit price {current}",
    "next_step": "Where to look next",
    "day": "Day",
    "week": "Week",
    "month": "Month",
    "quarter": "Quarter",
    "year": "Year",
    "share": "Share of orders",
    "aov_ci_low": "AOV interval from",
    "aov_ci_high": "AOV interval to",
    "aov_index": "AOV index (100 = all)",
    "segments_merged": "Segments merged",
    "interval": "Interval method",
    "aov_change": "AOV change",
    "aov_change_pct": "AOV change (%)",
    "current_aov_ci_low": "AOV {current} from",
    "current_aov_ci_high": "AOV {current} to",
    "target_aov": "Target AOV",
    "target_change": "Target above AOV now",
    "best_quarter": "Best quarter",
    "shop_wide_gap": "Shop-wide target above AOV now",
    # price sensitivity (aovlab.pricing)
    "elasticity": "Elasticity",
    "ci_low": "Interval from",
    "ci_high": "Interval to",
    "skus": "SKUs",
    "units_before": "Units before",
    "units_after": "Units after",
    "price_before": "Price before",
    "price_after": "Price after",
    "revenue_before": "Revenue before",
    "revenue_after": "Revenue after",
    "unit_cost": "Unit cost",
    "margin_before": "Margin before",
    "margin_after": "Margin after",
    "margin_change": "Margin change",
    "volume_effect": "From fewer or more units",
    "price_effect": "From the new price",
    "arm": "Arm",
    "control": "Control",
    "treatment": "Treatment",
    "conversion": "Conversion",
    "revenue_per_visitor": "Revenue per visitor",
    "difference": "Difference",
    "difference_from": "Difference from",
    "difference_to": "Difference to",
    "lift": "Lift",
    "lift_from": "Lift from",
    "lift_to": "Lift to",
    "p_value": "p-value",
    "threshold": "Threshold",
    "above_aov_pct": "Above today's AOV",
    "orders_within_reach": "Orders within reach",
    "share_within_reach": "Share of orders within reach",
    "aov_after": "AOV after",
    "revenue_change": "Revenue change",
    "shipping_cost_change": "Shipping fees given up (− = more collected)",
    "top_up_share": "Top-up share",
    "rule_of_thumb": "Rule of thumb",
    "bin_start": "Order value from",
    "bin_end": "Order value to",
    "bin_mid": "Order value",
    "counterfactual": "Expected without the threshold",
    "in_fit": "Used in the fit",
    "discount": "Discount",
    "discount_cost": "Discount given away",
    "orders_above": "Orders already above",
    "margin_gained": "Margin from top-ups",
    "break_even_share": "Top-up share to break even",
    "window": "Top-up window",
    "missing_mass": "Orders missing below",
    "excess_mass": "Extra orders above",
    "a": "Item",
    "b": "Bought with",
    "c": "And with",
    "a_product": "Product",
    "b_product": "Bought with (product)",
    "c_product": "And with (product)",
    "item": "Item",
    "orders_a": "Orders with the item",
    "orders_b": "Orders with the other",
    "support": "Support (share of orders)",
    "confidence_ab": "Item's orders with the other",
    "confidence_ba": "Other's orders with the item",
    "p_adjusted": "p-value (FDR-adjusted)",
    "significant": "Beyond chance",
    "then": "Predicts",
    "confidence": "Confidence",
    "list_price": "List price",
    "bundle_price": "Bundle price",
    "cost_source": "Cost from",
    "orders_with": "Orders with it",
    "orders_lacking": "Candidate orders without it",
    "margin_per_bundle": "Margin per bundle",
    "margin_separately": "Margin sold separately",
    "orders_with_all": "Orders with every item, {period}",
    "orders_with_some": "Orders with some items, {period}",
    "discount_given_away": "Discount given away, {period}",
    "discount_given_away_per_month": "Discount given away a month",
    "break_even_take_rate": "Break-even take rate",
    "margin_change_per_1000_orders": "Margin change per {thousand} orders",
    "margin_note": "Note",
    "take_rate": "Take rate",
    # loyalty
    "gap_part": "Part of the members' AOV gap",
    "per_order": "Per order",
    "group": "Group",
    "repeat_customers": "Repeat customers",
    "margin_per_customer": "Margin per customer",
    "members": "Members",
    "had_they_not_joined": "Had they not joined",
    "relative": "Relative effect",
    "relative_ci_low": "Relative, from",
    "relative_ci_high": "Relative, to",
    "months_since_joining": "Months since joining",
    "aov_counterfactual": "AOV had they not joined",
    "aov_effect": "AOV effect",
    "orders_per_member_year": "Orders per member a year",
    "orders_counterfactual": "Orders had they not joined",
    "frequency_effect": "Order rate effect",
    "frequency_ci_low": "Order rate effect from",
    "frequency_ci_high": "Order rate effect to",
    "figure": "Figure",
    "estimate": "Estimate",
    "cohort": "First-order month",
    "months_since": "Months since the first order",
    "cohorts": "Cohorts",
    "active": "Ordered again",
    "retained": "Share who ordered again",
    "retained_members": "Members",
    "retained_non_members": "Non-members",
    "retained_all": "All customers",
    "historic_clv_members": "Historic CLV, members",
    "historic_clv_non_members": "Historic CLV, non-members",
    "members_figure": "Members",
    "non_members_figure": "Non-members",
    "gap_figure": "Members − non-members",
    "expected_orders": "Expected orders",
    "expected_order_value": "Expected order value",
    "margin_rate": "Margin rate",
    "clv_mean": "CLV per customer",
    "clv_median": "Median CLV",
    "clv_total": "CLV in all",
    "p_alive": "Probability still active",
    "historic_clv": "Historic CLV per customer",
    "historic_total": "Historic CLV in all",
    "frequency": "Repeat orders before the holdout",
    "predicted_orders": "Predicted orders",
    "actual_orders": "Actual orders",
    "predicted_per_customer": "Predicted per customer",
    "actual_per_customer": "Actual per customer",
}

#: Machine values shown in words, by column.
VALUE_WORDS: dict[str, dict[str, str]] = {
    "split": {
        "upt_aur": "Items × price per item",
        "mix_rate": "Mix × rate",
        "orders_aov": "Orders × AOV",
        "funnel": "Sessions × conversion × AOV",
    },
    "part": {
        "upt": "Units per order (UPT)",
        "aur": "Revenue per unit (AUR)",
        "mix": "Where orders came from (mix)",
        "rate": "What each segment spends (rate)",
        "orders": "Number of orders",
        "aov": "Order value (AOV)",
        "sessions": "Sessions",
        "conversion": "Conversion rate",
    },
    "period": {"baseline": "Baseline", "current": "Current"},
    "group": {"member": "Members", "non_member": "Non-members", "all": "All customers"},
    "measure": {
        "aov": "AOV",
        "orders_per_member_year": "Orders per member a year",
        "orders_per_customer": "Orders per customer",
        "revenue_per_customer": "Revenue per customer",
        "margin_per_customer": "Margin per customer",
        "repeat_rate": "Repeat rate",
    },
    "figure": {
        "incremental_revenue": "Incremental revenue",
        "incremental_margin": "Incremental margin",
        "cost": "Cost",
        "net": "Net (margin − cost)",
        "break_even_cost_per_member": "Break-even cost a member",
    },
}


def label(column: str, context: Mapping[str, str] | None = None) -> str:
    """The human label of a column (a dimension reads as its plain words).

    >>> label("aov"), label("baseline_aov", {"baseline": "2026-07"}), label("discount_code")
    ('AOV', 'AOV 2026-07', 'Discount code')
    """
    text = LABELS.get(column)
    if text is None:
        words = fmt.dimension_label(column)
        return words[:1].upper() + words[1:]
    filled = dict(context or {})
    filled.setdefault("baseline", "before")
    filled.setdefault("current", "now")
    filled.setdefault("period", "the period")
    filled.setdefault("thousand", fmt.count(1000))
    filled.setdefault("one_percent", fmt.pct(0.01, digits=0))
    return text.format(**filled)


def cell(value: Any, kind: str, currency: str | None) -> str:
    """One value formatted for display by its kind.

    >>> cell(-4.1, "money", "EUR"), cell(0.025, "share", None), cell(True, "flag", None)
    ('−€4.10', '2.5 %', 'yes')
    """
    if kind == "money":
        return fmt.money(value, currency)
    if kind == "change":
        return fmt.money(value, currency, signed=True)
    if kind == "share":
        return fmt.pct(value)
    if kind == "count":
        return fmt.count(value)
    if kind == "number":
        return fmt.number(value)
    if kind == "quantity":
        whole = value is not None and float(value).is_integer()
        return fmt.number(value, 0 if whole else 2)
    if kind == "flag":
        return "yes" if value is True else ""
    if kind == "p":
        return _p_value(value)
    return "" if value is None else str(value)


def _p_value(value: Any) -> str:
    """A p-value to two significant digits; below 0.0001 as "< 0.0001".

    >>> _p_value(0.0031705), _p_value(1.2e-18), _p_value(1.0), _p_value(None)
    ('0.0032', '< 0.0001', '1', '')
    >>> from aovlab import locales
    >>> with locales.locale("de"):
    ...     _p_value(0.0031705), _p_value(1.2e-18), _p_value(0.25)
    ('0,0032', '< 0,0001', '0,25')
    """
    if value is None or value != value:
        return ""
    if value < 1e-4:
        text = "< 0.0001"
    elif value < 0.1:
        text = f"{float(value):.2g}"
    else:
        text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return text.replace(".", fmt.decimal_sign())  # a p-value has no thousands to group


def shown(column: str, value: Any) -> Any:
    """A machine value in words where the column has them (``upt_aur`` → "Items × ...")."""
    words = VALUE_WORDS.get(column)
    return words.get(value, value) if words and isinstance(value, str) else value


def in_words(frame: Any, column: str, alias: str | None = None) -> Any:
    """A result's small table (narwhals) with ``column``'s values in words (:func:`shown`).

    For charts, whose legends and axes show the words; ``alias`` keeps the machine
    values in ``column`` and puts the words in a new column.

    >>> import polars as pl
    >>> df = nw.from_native(pl.DataFrame({"group": ["member", "non_member"]}), eager_only=True)
    >>> in_words(df, "group", "who")["who"].to_list()
    ['Members', 'Non-members']
    """
    return frame.with_columns(
        nw.new_series(
            alias or column,
            [shown(column, v) for v in frame[column].to_list()],
            nw.String(),
            backend=nw.get_native_namespace(frame),
        )
    )


#: A sign or currency symbol right before an amount: no line break may follow it.
_SIGNED = re.compile(r"([−+-])(?=[€£$\d])|([€£$])(?=\d)")


def prose(text: str) -> str:
    """A sentence as escaped HTML whose amounts never break after their sign.

    A word joiner (U+2060) keeps "−" and "€" with the digits in narrow columns; the text
    reads and copies the same.

    >>> prose("mix −€0.05 & rate +€5.20") == "mix −\u2060€\u2060" + "0.05 &amp; rate +\u2060€\u20605.20"
    True
    """
    return _SIGNED.sub(lambda m: m.group(0) + "\u2060", html.escape(text))


def table_html(
    table: Any,
    formats: Formats,
    currency: str | None,
    *,
    context: Mapping[str, str] | None = None,
    max_rows: int = 60,
) -> str:
    """An escaped HTML table of a small aggregate frame, labelled and formatted."""
    frame = nw.from_native(table, eager_only=True)
    columns = frame.columns
    head = "".join(f"<th>{html.escape(label(str(c), context))}</th>" for c in columns)
    body = []
    for row in frame.head(max_rows).iter_rows(named=True):
        tds = []
        for c in columns:
            kind = formats.get(c, "text")
            style = "text-align:left" if kind in ("text", "flag") else "text-align:right"
            text = html.escape(cell(shown(c, row[c]), kind, currency))
            # Figures never break inside (no wrap after a minus sign or a currency sign).
            tds.append(f"<td style='{style};white-space:nowrap'>{text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    more = (
        f"<p><em>{fmt.count(len(frame) - max_rows)} more rows not shown</em></p>"
        if len(frame) > max_rows
        else ""
    )
    return (
        "<table class='aovlab-table'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        + more
    )


def rounded_rows(table: Any, formats: Formats) -> list[dict[str, Any]]:
    """A small table's rows as plain dicts, each figure rounded by its kind (:func:`rounded`)."""
    frame = nw.from_native(table, eager_only=True)
    return [rounded(row, formats) for row in frame.iter_rows(named=True)]


def rounded(row: Mapping[str, Any], formats: Formats, digits: int = 2) -> dict[str, Any]:
    """A row's figures rounded for JSON: money to the cent, shares and numbers to 6 places."""
    from aovlab.model import finite_or_none

    out: dict[str, Any] = {}
    for key, value in row.items():
        kind = formats.get(key)
        if kind in ("money", "change", "share", "number", "count", "quantity", "p"):
            v = finite_or_none(value)
            if v is None:
                out[key] = None
            elif kind == "count":
                out[key] = int(v)
            elif kind == "p":
                out[key] = float(f"{v:.4g}")
            else:
                out[key] = round(v, digits if kind in ("money", "change") else 6)
        else:
            out[key] = value
    return out
