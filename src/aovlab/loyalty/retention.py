"""Retention by cohort: who orders again, month by month after their first order.

:func:`retention` groups the registered customers by the calendar month of their first
counted order (their **cohort**) and gives, for each cohort and each month ``k = 1, 2,
...`` after it, the share of the cohort who placed a counted order in that calendar
month (the shop's time zone). Definitions:

- **Months since the first order** are calendar months: a customer whose first order
  was on 31 January and who orders on 1 February is active in month 1.
- **Only complete months are observed.** The data's last complete month is the month
  of the last counted order when that order falls on the month's last day, otherwise
  the month before (the last month is then partial and left out, and the result says
  so). A cell whose calendar month lies after the last complete month is null, never
  zero: it has not been observed. Customers whose first order falls in a partial last
  month belong to no cohort yet.
- **Repeat rate**: the share of a cohort's customers with a counted order on a later
  calendar day than their first order's day (two orders on the first day are one
  visit, not a repeat: the convention of the CLV models, which count repeat orders on
  distinct days). It counts every order up to the data's end, so recent cohorts have
  had less time to repeat.
- **Members against non-members**: membership at the data's end (a member who joined
  later was not one in their first months: a comparison, not the programme's effect).
  Each group's curve is the customer-weighted average over cohorts of the observed
  cells: at month ``k``, the active customers of every cohort that reached month ``k``
  over those cohorts' customers.

Guest orders (no ``customer_id``) and cancelled or test orders are left out. Only
aggregates leave the engine: the cohort and first day per customer, the distinct
customer-months joined back to them, counted by cohort x group x month since.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import fmt, metrics, periods
from aovlab.compare import counted_span, namespace, small_frame
from aovlab.display import in_words
from aovlab.errors import AovlabInputError
from aovlab.loyalty import base
from aovlab.model import ShopData, collect_all, collected, finite_or_none
from aovlab.results import Formats, Result, Section

__all__ = ["HEATMAP_COHORTS", "Retention", "retention"]

#: The heat map shows at most this many cohorts (the most recent).
HEATMAP_COHORTS = 36

RETENTION_FORMATS: Formats = {
    "cohort": "text",
    "months_since": "count",
    "customers": "count",
    "active": "count",
    "share": "share",
}
COHORT_FORMATS: Formats = {
    "cohort": "text",
    "customers": "count",
    "repeat_customers": "count",
    "repeat_rate": "share",
}
CURVE_FORMATS: Formats = {
    "group": "text",
    "months_since": "count",
    "cohorts": "count",
    "customers": "count",
    "active": "count",
    "share": "share",
}
#: The wide curve table's column per group (labels in aovlab.display).
_WIDE = {"member": "retained_members", "non_member": "retained_non_members", "all": "retained_all"}


@dataclass(repr=False)
class Retention(Result):
    """Retention by cohort: the cells, the cohorts' repeat rates, and the curves by group.

    ``table``: one row per cohort and month since the first order (``cohort``,
    ``months_since``, ``customers``, ``active``, ``share``), null ``active`` and
    ``share`` where the month is not observed yet. ``cohort_table``: per cohort,
    ``customers``, ``repeat_customers``, ``repeat_rate``. ``curves``: per group
    (``all``, and ``member``, ``non_member`` when split) and month since, the
    customer-weighted retention over the cohorts observed (``cohorts``,
    ``customers``, ``active``, ``share``). ``groups``: per group, ``customers``,
    ``repeat_customers`` and ``repeat_rate``.
    """

    cohort_table: Any = None
    curves: Any = None
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_complete_month: str = ""
    last_day: str = ""
    partial_month: str | None = None
    by_member: bool = False
    notes: list[str] = field(default_factory=list)
    formats: ClassVar[Formats] = RETENTION_FORMATS

    def _headline(self) -> str:
        return _headline(self)

    def curve(self, group: str = "all") -> list[float | None]:
        """A group's retention by month since the first order (month 1 first)."""
        frame = nw.from_native(self.curves, eager_only=True).filter(nw.col("group") == group)
        if not len(frame):
            raise KeyError(group)
        return [_share(v) for v in frame.sort("months_since")["share"].to_list()]

    def cohorts(self) -> list[dict[str, Any]]:
        """Each cohort: ``cohort``, ``customers``, ``repeat_rate`` and ``retention``.

        ``retention`` is the list of shares by month since the first order, month 1
        first, None where the month is not observed yet.
        """
        cells = nw.from_native(self.table, eager_only=True)
        shares: dict[str, list[float | None]] = {}
        for row in cells.sort("cohort", "months_since").iter_rows(named=True):
            shares.setdefault(row["cohort"], []).append(_share(row["share"]))
        out = []
        for row in nw.from_native(self.cohort_table, eager_only=True).iter_rows(named=True):
            out.append(
                {
                    "cohort": row["cohort"],
                    "customers": int(row["customers"]),
                    "repeat_rate": _share(row["repeat_rate"]),
                    "retention": shares.get(row["cohort"], []),
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: ``cohorts``, ``repeat_rate``, the curves and the groups."""
        out: dict[str, Any] = {
            "headline": self.headline,
            "last_complete_month": self.last_complete_month,
            "partial_month": self.partial_month,
            "notes": list(self.notes),
            "cohorts": self.cohorts(),
            "repeat_rate": _share(self.groups["all"]["repeat_rate"]),
            "retention": self.curve("all"),
        }
        if self.by_member:
            for group, key in (("member", "members"), ("non_member", "non_members")):
                g = self.groups[group]
                out[key] = {
                    "customers": g["customers"],
                    "repeat_rate": _share(g["repeat_rate"]),
                    "retention": self.curve(group),
                }
        return out

    def sections(self) -> list[Section]:
        """The cohorts' repeat rates and the curves (the cells are in the heat map)."""
        note = " ".join(self.notes) or None
        return [
            Section(self.cohort_table, COHORT_FORMATS, title="Cohorts", note=note),
            Section(
                self._curves_wide(),
                {"months_since": "count", **dict.fromkeys(_WIDE.values(), "share")},
                title="Share ordering again, by month since the first order "
                "(customer-weighted over the cohorts that reached that month)",
            ),
        ]

    def _curves_wide(self) -> Any:
        """The curves with one column per group: a row per month since the first order."""
        frame = nw.from_native(self.curves, eager_only=True)
        months = sorted(set(frame["months_since"].to_list()))
        cells = {
            (row["group"], row["months_since"]): row["share"] for row in frame.iter_rows(named=True)
        }
        groups = [g for g in _WIDE if any(k[0] == g for k in cells)]
        columns: dict[str, Any] = {"months_since": months}
        for g in groups:
            columns[_WIDE[g]] = np.array(
                [np.nan if cells.get((g, m)) is None else cells[(g, m)] for m in months],
                dtype=float,
            )
        return small_frame(columns, nw.get_native_namespace(frame)).to_native()

    def chart(self, kind: str = "heatmap") -> Any:
        """The retention heat map (cohort x months since); ``"curve"``: the curves by group."""
        import altair as alt

        from aovlab import charts

        if kind not in ("heatmap", "curve"):
            raise AovlabInputError(
                "unknown retention chart", expected="'heatmap' or 'curve'", found=repr(kind)
            )
        if kind == "curve":
            curves = nw.from_native(self.curves, eager_only=True).filter(~nw.col("share").is_null())
            if not len(curves):
                return charts.message("No cohort has a complete month after its first yet.")
            if self.by_member:
                curves = curves.filter(nw.col("group") != "all")
            data = in_words(curves, "group", "who")
            return (
                alt.Chart(
                    charts._data(data), title="Share ordering again, by month since the first order"
                )
                .mark_line(point=True)
                .encode(
                    x=alt.X("months_since:Q", title="Months since the first order"),
                    y=alt.Y(
                        "share:Q",
                        title="Share of the cohorts ordering",
                        axis=alt.Axis(format=".0%"),
                    ),
                    color=alt.Color("who:N", title=None),
                    tooltip=[
                        alt.Tooltip("who:N", title="Group"),
                        alt.Tooltip("months_since:Q", title="Months since"),
                        alt.Tooltip("share:Q", format=".1%"),
                        alt.Tooltip("customers:Q", format=",", title="Customers observed"),
                        alt.Tooltip("cohorts:Q", title="Cohorts"),
                    ],
                )
            )
        cells = nw.from_native(self.table, eager_only=True).filter(~nw.col("share").is_null())
        if not len(cells):
            return charts.message("No cohort has a complete month after its first yet.")
        shown = sorted(set(cells["cohort"].to_list()))[-HEATMAP_COHORTS:]
        cells = cells.filter(nw.col("cohort").is_in(shown))
        title = "Share of each cohort ordering again, by month since the first order"
        if len(shown) < len(set(nw.from_native(self.table, eager_only=True)["cohort"].to_list())):
            title += f" (the last {len(shown)} cohorts)"
        return (
            alt.Chart(charts._data(cells), title=title)
            .mark_rect()
            .encode(
                x=alt.X("months_since:O", title="Months since the first order"),
                y=alt.Y("cohort:O", title="First order month"),
                color=alt.Color(
                    "share:Q",
                    title="Ordering",
                    scale=alt.Scale(scheme="blues"),
                    legend=alt.Legend(format=".0%"),
                ),
                tooltip=[
                    alt.Tooltip("cohort:O", title="Cohort"),
                    alt.Tooltip("months_since:O", title="Months since"),
                    alt.Tooltip("customers:Q", format=","),
                    alt.Tooltip("active:Q", format=",", title="Ordering"),
                    alt.Tooltip("share:Q", format=".1%"),
                ],
            )
            .properties(width=alt.Step(22), height=alt.Step(16))
        )


def _share(value: Any) -> float | None:
    v = finite_or_none(value)
    return None if v is None else round(v, 6)


def retention(shop: ShopData, *, by_member: bool = True, months: int | None = None) -> Retention:
    """Retention by first-order cohort, its repeat rate, and members against non-members.

    See the module's notes for the definitions (calendar months in the shop's time
    zone, complete months only, repeat orders on a later day, membership at the data's
    end).

    Parameters
    ----------
    shop
        The shop; a customers table saying who is a member adds the member split.
    by_member
        Split the curves by membership at the data's end (ignored, with a note, when the
        shop has no customers table or no membership information).
    months
        Show months 1 to ``months`` after the first order (default: every month up to
        the data's last complete month).

    Returns
    -------
    Retention
        The cohort cells, the cohorts' repeat rates, the curves, a headline and charts.

    Raises
    ------
    AovlabInputError
        When ``months`` is not a whole number from 1, or no registered customer has a
        counted order.

    Examples
    --------
    >>> import aovlab
    >>> res = retention(aovlab.sample.load())
    >>> len(res.cohorts()), res.last_complete_month
    (24, '2026-10')
    >>> round(res.curve("all")[0], 2), round(res.groups["all"]["repeat_rate"], 2)
    (0.16, 0.66)
    >>> res.curve("member")[0] > res.curve("non_member")[0]
    True
    """
    if months is not None and (
        isinstance(months, bool) or not isinstance(months, int) or months < 1
    ):
        raise AovlabInputError(
            "months is out of range",
            expected="a whole number of months, 1 or more (or None for all)",
            found=repr(months),
        )
    notes: list[str] = []
    first, last = counted_span(shop)
    if last is None:
        raise AovlabInputError(
            "no counted orders",
            table="orders",
            expected="orders that are not cancelled or tests",
            found="none",
        )
    last_month = _month_of(last)
    complete = last.day == calendar.monthrange(last.year, last.month)[1]
    last_complete = last_month if complete else last_month - 1
    partial = None if complete else base.month_text(last_month)
    if partial:
        notes.append(
            f"The data ends on {last:%Y-%m-%d}, so {partial} is a partial month: it is left "
            f"out (its cells are blank, and customers whose first order falls in it are in "
            f"no cohort yet)."
        )
    if first is not None:
        notes.append(
            f"The data starts in {first:%Y-%m}: that cohort also holds customers who first "
            "ordered before it."
        )
    split = by_member and _has_membership(shop)
    if by_member and not split:
        notes.append(
            "No member split: the shop has no customers table saying who is a loyalty member."
        )
    sizes, activity = _counts(shop, last, last_complete, months, split)
    if not len(sizes) and partial is not None:
        registered = base.customer_orders(shop).select(nw.len()).pipe(collected).item()
        if registered:
            # Registered customers ordered, but only in the partial last month.
            raise AovlabInputError(
                "retention needs a complete calendar month of registered customers' orders",
                table="orders",
                column="ordered_at",
                expected="first orders in a month before the data's last (partial) month",
                found=f"all {fmt.count(registered)} registered customers' orders fall in {partial}, "
                f"which the data ends in on {last:%Y-%m-%d}",
            )
    if not len(sizes):
        raise AovlabInputError(
            "no registered customer has a counted order",
            table="orders",
            column="customer_id",
            expected="counted orders with a customer_id (guest checkouts have none)",
            found="only guest orders" if first is not None else "no counted orders",
        )
    return _result(shop, sizes, activity, last, last_complete, partial, months, split, notes)


def _has_membership(shop: ShopData) -> bool:
    try:
        base.require_customers(shop, "The member split")
    except AovlabInputError:
        return False
    return True


def _counts(
    shop: ShopData, last: Any, last_complete: int, months: int | None, split: bool
) -> tuple[nw.DataFrame[Any], nw.DataFrame[Any]]:
    """Cohort sizes and repeaters, and active customers by cohort x group x months since."""
    stamp = nw.col("ordered_at")
    orders = base.customer_orders(shop).select(
        "customer_id",
        "month",
        (stamp.dt.year().cast(nw.Int64()) * 1000 + stamp.dt.ordinal_day().cast(nw.Int64())).alias(
            "day"
        ),
    )
    per = orders.group_by("customer_id").agg(
        nw.col("month").min().alias("cohort"),
        nw.col("day").n_unique().alias("days"),
    )
    if split:
        as_of = periods.parse_window(f"{last:%Y-%m-%d}")
        per = per.join(
            base.membership(shop, as_of=as_of).select("customer_id", "member"),
            on="customer_id",
            how="left",
        ).with_columns(
            nw.when(nw.col("member").fill_null(False))
            .then(nw.lit("member"))
            .otherwise(nw.lit("non_member"))
            .alias("group")
        )
    else:
        per = per.with_columns(nw.lit("all").alias("group"))
    per = per.filter(nw.col("cohort") <= last_complete).with_columns(
        (nw.col("days") >= 2).cast(nw.Int64()).alias("repeat")
    )
    sizes = per.group_by("cohort", "group").agg(
        nw.len().alias("customers"), nw.col("repeat").sum().alias("repeat_customers")
    )
    since = nw.col("month") - nw.col("cohort")
    keep = (since >= 1) & (nw.col("month") <= last_complete)
    if months is not None:
        keep = keep & (since <= months)
    active = (
        orders.select("customer_id", "month")
        .unique()
        .join(per.select("customer_id", "cohort", "group"), on="customer_id", how="inner")
        .filter(keep)
        .with_columns(since.alias("months_since"))
        .group_by("cohort", "group", "months_since")
        .agg(nw.len().alias("active"))
    )
    got = collect_all([sizes, active])
    return got[0], got[1]


def _result(
    shop: ShopData,
    sizes: nw.DataFrame[Any],
    activity: nw.DataFrame[Any],
    last: Any,
    last_complete: int,
    partial: str | None,
    months: int | None,
    split: bool,
    notes: list[str],
) -> Retention:
    """The tables from the few aggregates: cells, cohorts, curves and groups."""
    groups = ["member", "non_member"] if split else ["all"]
    cohort_numbers = np.unique(sizes["cohort"].to_numpy().astype(np.int64))
    horizon = int(last_complete - cohort_numbers.min())
    k_max = max(min(horizon, months) if months is not None else horizon, 1)
    n_c, n_g = len(cohort_numbers), len(groups)
    # customers[g, c], repeaters[g, c], active[g, c, k - 1]
    customers = np.zeros((n_g, n_c))
    repeaters = np.zeros((n_g, n_c))
    active = np.zeros((n_g, n_c, k_max))
    c_idx = np.searchsorted(cohort_numbers, sizes["cohort"].to_numpy().astype(np.int64))
    g_idx = np.array([groups.index(g) for g in sizes["group"].to_list()], dtype=int)
    np.add.at(customers, (g_idx, c_idx), sizes["customers"].to_numpy().astype(float))
    np.add.at(repeaters, (g_idx, c_idx), sizes["repeat_customers"].to_numpy().astype(float))
    if len(activity):
        a_c = np.searchsorted(cohort_numbers, activity["cohort"].to_numpy().astype(np.int64))
        a_g = np.array([groups.index(g) for g in activity["group"].to_list()], dtype=int)
        a_k = activity["months_since"].to_numpy().astype(int) - 1
        np.add.at(active, (a_g, a_c, a_k), activity["active"].to_numpy().astype(float))
    ks = np.arange(1, k_max + 1)
    observed = cohort_numbers[:, None] + ks[None, :] <= last_complete  # [c, k]
    labels = [base.month_text(c) for c in cohort_numbers]

    # The cells, all groups together.
    all_customers, all_active = customers.sum(axis=0), active.sum(axis=0)
    cell_active = np.where(observed, all_active, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_share = cell_active / all_customers[:, None]
    backend = namespace(shop)
    cells = small_frame(
        {
            "cohort": [lab for lab in labels for _ in ks],
            "months_since": np.tile(ks, n_c),
            "customers": np.repeat(all_customers, k_max).astype(int),
            "active": [None if np.isnan(a) else int(a) for a in cell_active.ravel().tolist()],
            "share": cell_share.ravel(),
        },
        backend,
    )
    all_repeaters = repeaters.sum(axis=0)
    cohort_table = small_frame(
        {
            "cohort": labels,
            "customers": all_customers.astype(int),
            "repeat_customers": all_repeaters.astype(int),
            "repeat_rate": all_repeaters / all_customers,
        },
        backend,
    )

    # The curves: customer-weighted over the cohorts observed at each month since.
    named = {"all": (customers.sum(axis=0), active.sum(axis=0))}
    if split:
        named.update({g: (customers[i], active[i]) for i, g in enumerate(groups)})
    curve_cols: dict[str, list[Any]] = {k: [] for k in CURVE_FORMATS}
    summary: dict[str, dict[str, Any]] = {}
    for name, (cust, act) in named.items():
        base_customers = (cust[:, None] * observed).sum(axis=0)
        base_active = (act * observed).sum(axis=0)
        reached = ((cust[:, None] > 0) & observed).sum(axis=0)
        for j, k in enumerate(ks):
            curve_cols["group"].append(name)
            curve_cols["months_since"].append(int(k))
            curve_cols["cohorts"].append(int(reached[j]))
            curve_cols["customers"].append(int(base_customers[j]))
            curve_cols["active"].append(int(base_active[j]))
            curve_cols["share"].append(
                metrics.share(base_active[j], base_customers[j]) if base_customers[j] else None
            )
        rep = repeaters.sum(axis=0) if name == "all" else repeaters[groups.index(name)]
        summary[name] = {
            "customers": int(cust.sum()),
            "repeat_customers": int(rep.sum()),
            "repeat_rate": finite_or_none(metrics.repeat_rate(rep.sum(), cust.sum())),
        }
    curve_cols["share"] = [np.nan if v is None else v for v in curve_cols["share"]]
    curves = small_frame(
        {**curve_cols, "share": np.array(curve_cols["share"], dtype=float)}, backend
    )
    return Retention(
        table=cells.to_native(),
        currency=shop.currency,
        cohort_table=cohort_table.to_native(),
        curves=curves.to_native(),
        groups=summary,
        last_complete_month=base.month_text(last_complete),
        last_day=f"{last:%Y-%m-%d}",
        partial_month=partial,
        by_member=split,
        notes=notes,
    )


def _headline(res: Retention) -> str:
    cohorts = res.cohorts()
    overall = res.curve("all")
    g = res.groups["all"]
    span = (
        cohorts[0]["cohort"]
        if len(cohorts) == 1
        else f"{cohorts[0]['cohort']} to {cohorts[-1]['cohort']}"
    )
    text = f"Of {fmt.count(g['customers'])} customers whose first order was in {span}"
    points = [
        (k, overall[k - 1]) for k in (1, 3, 12) if k <= len(overall) and overall[k - 1] is not None
    ]
    if points:
        k, share = points[0]
        where = "the calendar month after their first order's" if k == 1 else f"month {k}"
        text += f", {fmt.pct(share)} ordered again in {where}"
        if len(points) > 1:
            text += f" ({fmt.listing([f'month {k}: {fmt.pct(v)}' for k, v in points[1:]])})"
    text += f"; {fmt.pct(g['repeat_rate'])} ordered again on a later day at all."
    if res.by_member:
        m, n = res.groups["member"], res.groups["non_member"]
        cm, cn = res.curve("member"), res.curve("non_member")
        diffs = [a - b for a, b in zip(cm, cn, strict=True) if a is not None and b is not None]
        if diffs:
            word = "better" if float(np.mean(diffs)) > 0 else "worse"
            month1 = (
                f"{fmt.pct(cm[0])} against {fmt.pct(cn[0])} in month 1, "
                if cm[0] is not None and cn[0] is not None
                else ""
            )
            text += (
                f" Members (membership at the data's end) retained {word} than non-members: "
                f"{month1}repeat rate {fmt.pct(m['repeat_rate'])} against "
                f"{fmt.pct(n['repeat_rate'])} (a comparison, not the programme's effect)."
            )
    if res.partial_month:
        text += f" {res.partial_month} is a partial month (the data ends on {res.last_day}) and is left out."
    return text


def _month_of(moment: dt.datetime) -> int:
    return moment.year * 12 + moment.month - 1
