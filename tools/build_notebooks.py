"""Write the notebooks' source cells (run once per change; outputs come from papermill).

Notebooks hold no logic: each code cell is one library call. Keeping their source here
lets a reviewer read every cell in one diff; `make notebooks` rebuilds and re-executes them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
CHECK = "# NBVAL_CHECK_OUTPUT\n"

TABLES = ("orders", "lines", "customers", "catalog", "traffic")


def sample_parameters(tables: tuple[str, ...] = TABLES) -> str:
    """The parameters cell's opening lines: the sample shop's files and read options."""
    paths = "".join(f'{t} = "../data/sample/{t}.csv"\n' for t in tables)
    return paths + (
        'read_options = {}  # e.g. {"currency": "SEK", "timezone": "Europe/Stockholm", "decimal": ","}\n'
    )


def load_cell(tables: tuple[str, ...] = TABLES) -> nbformat.NotebookNode:
    """The cell that loads the shop from the parameters' tables."""
    given = ", ".join(f"{t}={t}" for t in tables)
    return new_code_cell(f"shop = aovlab.load(\n    {given},\n    **read_options,\n)\nshop")


#: The drivers notebook needs no customers table (customer_type comes from the orders).
DRIVER_TABLES = ("orders", "lines", "catalog", "traffic")


def primer() -> nbformat.NotebookNode:
    md, code = new_markdown_cell, new_code_cell
    params = code(
        sample_parameters()
        + 'month = "2026-08"  # the month to look at (YYYY-MM)\n'
        + "interactive = True  # False renders everything statically (reports)\nlocale = None  # how figures are written: de, sv, nb, en-GB, ...; None: English (en)\n"
        + "results_path = None  # where the report collects this notebook's headlines\n",
        metadata={"tags": ["parameters"]},
    )
    cells = [
        md(
            "# AOV primer: the KPIs behind average order value\n\n"
            "What is average order value, what moves it, and why a single average can mislead. "
            "This notebook defines the KPIs with the worked examples from the source articles, "
            "then applies them to a shop: its KPIs for one month, the AOV trend with the "
            "*outlier guard* (mean against median), and a month pair where the mix of orders "
            "moves the total the other way from every segment. Change the parameters below "
            "and run all cells; with `interactive = True` the last section has controls."
        ),
        params,
        code("import aovlab\n\naovlab.widgets.setup(interactive, locale)"),
        md(
            "## The definitions\n\n"
            "- **AOV** (average order value) = revenue / orders. A shop with 400,000 of "
            "revenue from 4,234 orders has an AOV of 94.47; 10,000 from 100 orders is 100.00.\n"
            "- **Revenue basis**: aovlab counts *net merchandise* (merchandise − discounts, "
            "without shipping and tax; cancelled and test orders dropped), as shop platforms do. "
            '`basis="gross"` and `basis="total"` are there for clients who report otherwise.\n'
            "- **Conversion rate** = orders / sessions: 10,000 orders from 400,000 visits is 2.5 %. "
            "Revenue = sessions × conversion rate × AOV: 400,000 × 2.5 % × 94.47 = 944,700.\n"
            "- **UPT** (units per transaction) = units / orders and **AUR** (average unit retail) "
            "= revenue / units, so AOV = UPT × AUR exactly: a basket grows by more items or by "
            "dearer ones.\n"
            "- **Median order value** and **trimmed AOV** (the top and bottom 5 % of orders "
            "left out) guard against one large order distorting the picture; so does the "
            "**share of revenue in the top 1 % of orders**.\n"
            "- **Margin per order** = (revenue − cost of goods) / orders: a higher AOV is worth "
            "only what it adds in margin."
        ),
        code(CHECK + "aovlab.metrics.worked_examples()"),
        md("## The shop\n\nWhat was loaded, and anything the checks noticed about the data."),
        load_cell(),
        md("## The month at a glance"),
        code(CHECK + "month_kpis = aovlab.metrics.kpis(shop, when=month)\nmonth_kpis"),
        md(
            "## AOV by month: mean against median\n\n"
            "The mean (AOV) reacts to every large order; the median does not. When the two "
            "part ways in one month, look at that month's largest orders before reading "
            "anything into its AOV."
        ),
        code('trend = aovlab.metrics.kpis(shop, by="month")\ntrend.chart()'),
        code(CHECK + "trend"),
        md(
            "## Mix: how the total can fall while every segment rises\n\n"
            "AOV is an average over segments (devices, channels, countries). If more orders "
            "come from a segment whose baskets are smaller, the overall AOV falls even when "
            "every segment spends more than before. Compare the month with the one before, "
            "overall and by segment:"
        ),
        code('aovlab.metrics.kpis(shop, by="month", when=aovlab.periods.with_previous(month))'),
        code(
            'mix = aovlab.metrics.kpis(shop, by=["month", aovlab.metrics.pick_dimension(shop, "device")],\n'
            "                          when=aovlab.periods.with_previous(month))\n"
            "mix.chart()"
        ),
        code(CHECK + "mix"),
        md(
            "## Customers\n\n"
            "Purchase frequency, repeat rate and historic customer lifetime value (gross margin "
            "per customer over the data's window), for registered customers."
        ),
        code("aovlab.metrics.customer_kpis(shop)"),
        md(
            "## Explore\n\n"
            "Pick the period and the revenue basis, then a dimension to split the month by."
        ),
        code("aovlab.widgets.kpi_explorer(shop, interactive)"),
        code("aovlab.widgets.dimension_explorer(shop, interactive, when=month)"),
        code("aovlab.report.save_results(results_path, month_kpis, trend)"),
    ]
    return _notebook(cells)


def aov_drivers() -> nbformat.NotebookNode:
    md, code = new_markdown_cell, new_code_cell
    params = code(
        sample_parameters(DRIVER_TABLES)
        + 'current = "2026-08"  # the period to explain: 2026-10, 2026Q3 or 2026-10-01..2026-10-15\n'
        + "baseline = None  # the period to compare with; None: the one just before\n"
        + 'dimension = "device"  # where orders came from: channel, country, customer_type, ...\n'
        + "interactive = True  # False renders everything statically (reports)\nlocale = None  # how figures are written: de, sv, nb, en-GB, ...; None: English (en)\n"
        + "results_path = None  # where the report collects this notebook's headlines\n",
        metadata={"tags": ["parameters"]},
    )
    cells = [
        md(
            "# AOV drivers: why average order value moved\n\n"
            "AOV went from one number to another; this notebook says why, exactly. It checks "
            "first whether a few large orders carry the average, then splits the change two "
            "ways: into items per order and price per item, and into *where orders came from* "
            "(mix) and *what each segment spends* (rate). Every split adds up to the whole "
            "change, to the cent. Then it names the categories, products, discount codes and "
            "orders behind the move, and says where to look next."
        ),
        params,
        code("import aovlab\n\naovlab.widgets.setup(interactive, locale)"),
        load_cell(DRIVER_TABLES),
        md("## The answer in two sentences"),
        code(
            CHECK
            + "drivers = aovlab.drivers.decompose(\n"
            + "    shop, current, baseline, by=aovlab.metrics.pick_dimension(shop, dimension)\n"
            + ")\n"
            + "drivers"
        ),
        code(CHECK + "aovlab.drivers.large_orders(shop, current)"),
        md(
            "## First, the outlier guard\n\n"
            "AOV is a mean, and one business order of fifty jackets moves a mean. The median "
            "does not move with it. Order values are skewed, so AOV sits above the median "
            "every month; a month is flagged when the gap is unusually wide (15 % beyond the "
            "typical gap), and the orders that each move its AOV by 2 % or more are listed with "
            "the AOV without them. Read a flagged month's AOV with care."
        ),
        code(
            "trend = aovlab.drivers.trend(shop, when=aovlab.periods.trailing(current, 13))\ntrend.chart()"
        ),
        code(CHECK + "trend"),
        md(
            "## More items, or dearer ones?\n\n"
            "AOV = UPT × AUR: units per order times revenue per unit. The change splits exactly "
            "into a UPT effect (baskets held more or fewer items) and an AUR effect (the items "
            "cost more or less), each factor's change weighted by the average of the other over "
            "the two periods."
        ),
        code('drivers.chart("upt_aur")'),
        md(
            "## Where orders came from, and what each segment spends\n\n"
            "AOV is the average of the segments' AOVs weighted by their share of orders. The "
            "*mix* effect is what the shift in shares did, the *rate* effect what the changes "
            "within segments did. More orders from a segment that spends less than average is "
            "a negative mix contribution, even when every segment spends more than before."
        ),
        code('drivers.chart("mix_rate")'),
        code(CHECK + "segments = drivers.segment_table()\nsegments"),
        code("segments.chart()"),
        md(
            "## Revenue: more orders, or bigger ones?\n\n"
            "Revenue = orders × AOV, and with traffic, sessions × conversion rate × AOV. The "
            "same exact split shows whether revenue moved with the number of orders or with "
            "their size."
        ),
        code('drivers.chart("revenue")'),
        md(
            "## What moved: categories, products, discount codes, the largest orders\n\n"
            "A category's revenue per order is its units per order times its price per unit, so "
            "its change splits into *volume* and *price*. The categories, order discounts and "
            "anything outside the order lines add up to the AOV change."
        ),
        code(CHECK + "contrib = aovlab.drivers.contributors(shop, current, baseline)\ncontrib"),
        code("contrib.chart()"),
        code('contrib.chart("products")'),
        md("## What to look at next"),
        code("aovlab.drivers.what_next(drivers, contrib, trend)"),
        md(
            "## Explore\n\n"
            "Pick the period to explain, the one to compare with, and the dimension to split by."
        ),
        code(
            "aovlab.widgets.drivers_explorer(shop, interactive, current=current, baseline=baseline,\n"
            "                                by=dimension)"
        ),
        code("aovlab.report.save_results(results_path, drivers, trend, contrib)"),
    ]
    return _notebook(cells, needs=("previous_month",))


def segment_breakdown() -> nbformat.NotebookNode:
    md, code = new_markdown_cell, new_code_cell
    cells = [
        md(
            "# Segment breakdown: who buys what\n\nOne AOV target for the whole shop hides that customer groups buy differently: a channel that brings many small baskets, returning customers who spend more, a few customers who carry a large share of revenue. This notebook splits the period's orders by any dimension, with an interval around each segment's AOV so that a gap is not read into noise; then it looks at customers: new against returning, RFM groups, the most valuable customers, and a target per segment instead of one for all.\n\nSegments with fewer than `min_orders` orders are never shown on their own: they are merged into one \"Other\" row, because their AOV is noise and a segment of three orders points at people."
        ),
        code(
            'orders = "../data/sample/orders.csv"\nlines = "../data/sample/lines.csv"\ncustomers = "../data/sample/customers.csv"\ncatalog = "../data/sample/catalog.csv"\nread_options = {}  # e.g. {"currency": "SEK", "timezone": "Europe/Stockholm", "decimal": ","}\ncurrent = "2026-10"  # the period to break down: 2026-10, 2026Q3, 2026 or 2026-10-01..2026-10-15\nbaseline = None  # the period to compare with; None: the one just before\ndimension = "channel"  # split by: channel, device, country, customer_type, loyalty_status, ...\nsecond_dimension = "device"  # the second dimension of the pair view\nmin_orders = 30  # segments with fewer orders are merged into "Other"\nas_of = None  # RFM as of this date (2026-10-31); None: the end of the current period\nuplift = 0.10  # the AOV uplift each segment is asked for\ninteractive = True  # False renders everything statically (reports)\nlocale = None  # how figures are written: de, sv, nb, en-GB, ...; None: English (en)\nresults_path = None  # where the report collects this notebook\'s headlines',
            metadata={"tags": ["parameters"]},
        ),
        code("import aovlab\n\naovlab.widgets.setup(interactive, locale)"),
        code(
            "shop = aovlab.load(orders=orders, lines=lines, customers=customers, catalog=catalog, **read_options)\nshop"
        ),
        code(
            "# The dimensions asked for, or the export's own where it lacks them.\nby = aovlab.metrics.pick_dimension(shop, dimension)\nby2 = aovlab.metrics.pick_dimension(shop, second_dimension, other_than=by)"
        ),
        md(
            "## The answer\n\nEach segment's orders, share, AOV with its 95 % interval, median, units per order, revenue per unit and margin per order. The AOV index compares the segment with the whole period (100 = the shop's AOV). Where two intervals overlap, the gap between those segments may be chance."
        ),
        code(
            CHECK
            + "breakdown = aovlab.segments.breakdown(shop, by, when=current, min_orders=min_orders)\nbreakdown"
        ),
        code("breakdown.chart()"),
        md(
            '## Against the period before\n\nThe same segments in both periods, with each one\'s change in AOV and in its share of orders. A segment small in either period is merged into "Other" in both.'
        ),
        code(
            CHECK
            + "change = aovlab.segments.compare(shop, by, current, baseline, min_orders=min_orders)\nchange"
        ),
        code("change.chart()"),
        md(
            '## Two dimensions at once\n\nEvery pair of values is a segment; the heat map shows each cell\'s AOV index. Cells too small to show are merged into one "Other" row of the table and left out of the map.'
        ),
        code(
            "pair = aovlab.segments.breakdown(shop, by, by2, when=current, min_orders=min_orders)\npair"
        ),
        code("pair.chart()"),
        md(
            "## New and returning customers\n\nAn order is *new* when it is the customer's first in the data, *returning* otherwise, and a *guest* order without a customer id. History before the export's first day is unknown, so its first months lean \"new\"."
        ),
        code(
            CHECK
            + "customer_types = aovlab.segments.new_vs_returning(shop, when=aovlab.periods.trailing(current, 13))\ncustomer_types"
        ),
        code("customer_types.chart()"),
        md(
            "## RFM: customers by recency, frequency and monetary value\n\nEach registered customer is scored 1 to 5 on how recently they ordered, how often and how much they spent (quintiles; equal values get equal scores), and named by the recency and frequency scores: champions bought recently and often, *at risk* customers used to buy often but not lately."
        ),
        code(CHECK + "rfm = aovlab.segments.rfm(shop, as_of=as_of, period=current)\nrfm"),
        code("rfm.chart()"),
        md(
            "## The most valuable customers\n\nThe customers who bring the most revenue, by pseudonymous id only, and the Pareto curve: the share of revenue that each share of customers brings. The report shows the curve only: it holds no customer ids."
        ),
        # The ids are listed only when interactive: the stored (report) output has none.
        code(
            "top = aovlab.segments.top_customers(shop, 20, period=current, listed=interactive)\ntop"
        ),
        code("top.chart()"),
        md(
            "## A target per segment\n\nA single AOV target asks the segments that spend least for the largest rise. A target per segment (its own AOV plus the uplift, or its best quarter of the last year) says what each can reach, and what the shop's AOV would be if all reached theirs at today's mix."
        ),
        code(
            CHECK
            + "targets = aovlab.segments.targets(shop, by, uplift=uplift, when=current, min_orders=min_orders)\ntargets"
        ),
        code("targets.chart()"),
        code(
            'aovlab.segments.targets(shop, by, method="best_quarter", when=current, min_orders=min_orders)'
        ),
        md(
            "## Explore\n\nPick the dimension (and a second one), the period and the smallest segment shown."
        ),
        code(
            "aovlab.widgets.segments_explorer(\n    shop, interactive, period=current, by=dimension, by2=second_dimension,\n    min_orders=min_orders,\n)"
        ),
        code(
            "aovlab.report.save_results(results_path, breakdown, change, customer_types, rfm, top, targets)"
        ),
    ]
    return _notebook(cells)


def price_sensitivity() -> nbformat.NotebookNode:
    md, code = new_markdown_cell, new_code_cell
    window = "when=aovlab.periods.trailing(current, 12)"
    cells = [
        md(
            "# Price sensitivity: what a price change, a price test and a free-shipping threshold do\n\nFour questions on price, each answered on the shop's own data with its uncertainty: how strongly buyers react to price (the elasticity, from the shop's own price changes); what raising the best-sellers' prices by 5 or 10 % does to margin, not just to AOV; what the latest price test says, once its arms are checked for a sample-ratio mismatch; and where a free-shipping or spend threshold pays, with the share of customers who top up their basket to reach it measured in the shop's own history.\n\nThe what-if and the thresholds look at the 12 months ending with `current`; the elasticity at the 24 months, so that it sees the shop's price changes."
        ),
        code(
            sample_parameters(PRICING_TABLES)
            + 'current = "2026-10"  # the report\'s month: the analyses look at the months up to it\n'
            'period = "week"  # elasticity panel: units and average price per SKU and week (or month)\n'
            "top = 5  # how many best-sellers the what-if reprices\n"
            "changes = [0.05, 0.10]  # price changes to try on them (-0.05 is a cut)\n"
            "assumed_elasticity = None  # use this elasticity in the what-if instead of the estimate\n"
            "variant = None  # the order column naming each order's test arm; None: the first that looks like one\n"
            "control = None  # the control arm; None: the first in order\n"
            "expected_split = 0.5  # control's intended share of the test's traffic\n"
            "candidates = None  # free-shipping thresholds to try besides AOV +0..50 %, e.g. [79, 89, 99]\n"
            "current_threshold = None  # today's free-shipping threshold; None: detected in the order values\n"
            "shipping_cost = None  # what shipping one order costs the shop\n"
            "top_up_share = None  # share of orders within reach that top up; None: observed, else 0.30\n"
            "offer_threshold = 100.0  # a spend-threshold discount: this much off ...\n"
            "offer_discount = 10.0  # ... on orders of at least offer_threshold\n"
            "interactive = True  # False renders everything statically (reports)\nlocale = None  # how figures are written: de, sv, nb, en-GB, ...; None: English (en)\n"
            "results_path = None  # where the report collects this notebook's headlines",
            metadata={"tags": ["parameters"]},
        ),
        code("import aovlab\n\naovlab.widgets.setup(interactive, locale)"),
        load_cell(PRICING_TABLES),
        md(
            "## How price-sensitive are the buyers?\n\nUnits of each SKU per week against its average price that week, on a log-log scale, with one effect per SKU and one per week: a Christmas peak or a promotion week moves every SKU at once and is not read as a response to price. Only SKUs whose price really changed inform the estimate; the interval is clustered by SKU. An elasticity of -1.2 means a 10 % price rise loses about 11 % of units."
        ),
        code(
            CHECK
            + 'elasticity = aovlab.results.attempt(\n    "Price elasticity", aovlab.pricing.elasticity, shop, period=period,\n    when=aovlab.periods.trailing(current, 24),\n)\nelasticity'
        ),
        code("elasticity.chart()"),
        md(
            "## +5 % and +10 % on the best-sellers\n\nThe best-sellers' units, revenue and margin before and after the price change, with the elasticity above (or `assumed_elasticity`). The headline is the margin change: a price rise that lifts AOV while margin falls is not a win. Orders are assumed to stay: the units lost are items left out of baskets."
        ),
        code(
            CHECK
            + 'whatif = aovlab.results.attempt(\n    "Best-seller what-if", aovlab.pricing.whatif, shop, top=top, change=changes,\n    elasticity=elasticity if assumed_elasticity is None else assumed_elasticity,\n    '
            + window
            + ",\n)\nwhatif"
        ),
        code("whatif.chart()"),
        md(
            "## The latest price test\n\nAOV, conversion and revenue per visitor per arm, with intervals that hold for skewed order values. The arms' sizes are checked first against the intended split: a sample-ratio mismatch means the split itself went wrong, and every other number is suspect. Then: how many orders per arm a test needs to see a 5 % AOV lift, and how long that takes."
        ),
        code(
            CHECK
            + 'test = aovlab.results.attempt(\n    "Price test", aovlab.pricing.abtest, shop, variant, control=control,\n    expected_split=expected_split, '
            + window
            + ",\n)\ntest"
        ),
        code("test.chart()"),
        md(
            "## Where a free-shipping threshold pays\n\nFirst the evidence: where the shop has a threshold, orders bunch just above it and thin out just below it, because some customers add an item to ship free. The missing orders below the threshold, against a smooth fit of the rest of the distribution, are the share who top up."
        ),
        code(
            CHECK
            + 'evidence = aovlab.results.attempt(\n    "Top-up evidence", aovlab.pricing.top_up_evidence, shop, current=current_threshold,\n    '
            + window
            + ",\n)\nevidence"
        ),
        code("evidence.chart()"),
        md(
            "Then the candidates, from today's AOV to 50 % above it: the orders within reach of each, the AOV, revenue and margin if that share tops up, and the shipping money given up. The seeds' rules of thumb (5-10 % above AOV; about 30 % above) are marked, so the table shows which one the shop's numbers support."
        ),
        code(
            CHECK
            + 'thresholds = aovlab.results.attempt(\n    "Free-shipping thresholds", aovlab.pricing.threshold, shop, candidates=candidates,\n    current=current_threshold, shipping_cost=shipping_cost, top_up_share=top_up_share,\n    '
            + window
            + ",\n)\nthresholds"
        ),
        code("thresholds.chart()"),
        md(
            "## A spend-threshold discount\n\nThe same question for an offer such as 10 off orders over 100: the discount given to orders that would have been above the threshold anyway, against the margin on the orders pulled up to it."
        ),
        code(
            CHECK
            + 'offer = aovlab.results.attempt(\n    "Spend-threshold offer", aovlab.pricing.spend_offer, shop, threshold=offer_threshold,\n    discount=offer_discount, top_up_share=top_up_share, '
            + window
            + ",\n)\noffer"
        ),
        md(
            "## Explore\n\nSlide the price change on the best-sellers, the free-shipping threshold and the share of customers who top up."
        ),
        code(
            "aovlab.widgets.pricing_explorer(\n    shop, interactive, top=top, change=changes[0], elasticity=elasticity,\n    current_threshold=current_threshold, shipping_cost=shipping_cost,\n    top_up_share=top_up_share, "
            + window
            + ",\n)"
        ),
        code(
            "aovlab.report.save_results(results_path, elasticity, whatif, test, thresholds, offer)"
        ),
    ]
    return _notebook(cells)


def bundle_margin() -> nbformat.NotebookNode:
    md, code = new_markdown_cell, new_code_cell
    window = "when=aovlab.periods.trailing(current, 12)"
    cells = [
        md(
            "# Bundle margin: what sells together, and whether a bundle pays\n\nProducts that naturally belong together, such as hiking boots and waterproofing spray, make good bundles: the basket grows and the customer's purchase gets easier. The advice comes with two warnings: give only a small discount, and do not let the discount eat the margin. This notebook answers both on the shop's own orders: which products are really bought together (more often than their popularity alone explains, and not by chance), and what a bundle at a given discount does to margin, counting the discount given away to customers who would have bought every item anyway.\n\nEverything looks at the 12 months ending with `current`: one month holds too few orders of a pair to tell a habit from chance."
        ),
        code(
            sample_parameters(BUNDLE_TABLES)
            + 'current = "2026-10"  # the report\'s month: the analyses look at the 12 months up to it\n'
            'level = "sku"  # what an item is: "sku" or "category"\n'
            "min_support = 0.001  # a pair must be in at least this share of orders ...\n"
            "min_orders = 20  # ... and in at least this many orders\n"
            'bundle_skus = None  # the bundle to evaluate, e.g. ["FW-003", "CA-001"]; None: the top suggestion\n'
            "bundle_discount = 0.10  # the bundle's discount on its items' prices ...\n"
            "bundle_price = None  # ... or its price (then set bundle_discount to None)\n"
            "cost_rate = None  # unit cost as a share of price, for SKUs without a cost\n"
            "take_rate = 0.05  # share of orders with some of the items that would take the bundle\n"
            "interactive = True  # False renders everything statically (reports)\nlocale = None  # how figures are written: de, sv, nb, en-GB, ...; None: English (en)\n"
            "results_path = None  # where the report collects this notebook's headlines",
            metadata={"tags": ["parameters"]},
        ),
        code("import aovlab\n\naovlab.widgets.setup(interactive, locale)"),
        load_cell(BUNDLE_TABLES),
        md(
            "## What is bought together\n\nEach order is a basket of distinct products. For every pair of products: the orders that hold both (support is their share of all orders), how often a buyer of one also takes the other (confidence, both ways), and the lift: how many times more often the two meet than if customers chose them independently. A pair seen in a handful of orders is not a discovery: each pair is tested against chance (Fisher's exact test), with the false-discovery rate controlled over every pair that could have been tested."
        ),
        code(
            CHECK
            + 'pairs = aovlab.results.attempt(\n    "Bought together", aovlab.bundles.pairs, shop, level=level,\n    min_support=min_support, min_orders=min_orders, '
            + window
            + ",\n)\npairs"
        ),
        code("pairs.chart()"),
        code('pairs.chart("heatmap")'),
        md(
            "## Suggested bundles\n\nThe pairs that pass the test, each priced as a bundle at `bundle_discount`. A bundle costs the discount on every order that already holds both items, and earns the margin of the missing item on orders that hold only one, when their buyer takes the bundle. The table ranks the pairs by the margin change per 1,000 orders at `take_rate`, with the break-even take rate next to it: the share of one-item orders that must add the other item before the bundle pays for the discount it gives away. One take rate for every pair is a simplification: it favours pairs whose items are often bought alone and seldom together (a popular add-on with a dearer item), so read the lift and the break-even take rate beside the margin. A pair that most buyers already take together, on the other hand, mostly gives its discount away."
        ),
        code(
            CHECK
            + 'suggestions = aovlab.results.attempt(\n    "Suggested bundles", aovlab.bundles.suggest, shop, pairs, discount=bundle_discount,\n    take_rate=take_rate, cost_rate=cost_rate,\n)\nsuggestions'
        ),
        code("suggestions.chart()"),
        md(
            "## The margin calculator\n\nThe chosen bundle (`bundle_skus`, else the top suggestion) at its price: list price and unit costs, margin per bundle against the items sold separately, the orders that already hold every item (they get the discount for nothing) and those that hold some of them (the orders the bundle can win), and the margin change as the take rate grows, with the break-even point."
        ),
        code(
            CHECK
            + 'bundle = aovlab.results.attempt(\n    "Bundle margin", aovlab.bundles.bundle_margin, shop, bundle_skus or suggestions,\n    price=bundle_price, discount=bundle_discount,\n    cost_rate=cost_rate, take_rate=take_rate, '
            + window
            + ",\n)\nbundle"
        ),
        code("bundle.chart()"),
        md(
            "## Explore\n\nPick the bundle's products, its discount and the take rate: the margin curve and the break-even take rate follow."
        ),
        code("aovlab.widgets.bundle_explorer(shop, interactive, bundle, pairs=pairs)"),
        code("aovlab.report.save_results(results_path, pairs, suggestions, bundle)"),
    ]
    return _notebook(cells, needs=("lines",))


def loyalty_impact() -> nbformat.NotebookNode:
    md, code = new_markdown_cell, new_code_cell
    period = "aovlab.periods.trailing(current, 12)"
    cells = [
        md(
            "# Loyalty impact: what the programme really changed, and whether it pays\n\n"
            "Do members spend more? Almost always, and almost always for the wrong reason: the "
            "customers who join a loyalty programme are usually the ones who already bought "
            "more. This notebook separates the two. It compares members with non-members, then "
            "follows the same customers from before they joined to after, against customers "
            "who had not joined (yet) over the same months, to estimate what joining itself "
            "changed in basket size and in how often they order. It then looks at retention "
            "by cohort, at customer lifetime value (CLV) next to AOV, with CLV : CAC when an "
            "acquisition cost is given, and at whether the programme earns more margin than "
            "it costs.\n\n"
            "The comparison and the return look at the 12 months ending with `current`; the "
            "programme's effect and the CLV models use all the data, since both need history."
        ),
        code(
            sample_parameters(LOYALTY_TABLES)
            + 'current = "2026-10"  # the report\'s month: comparison and return cover the 12 months up to it\n'
            'calibration_end = None  # first day of the CLV holdout check, e.g. "2026-05-01"; None: 26 weeks before the data ends\n'
            "cac = None  # acquisition cost per new customer, e.g. 25.0, for CLV : CAC\n"
            "cost_per_member = None  # the programme's cost per member over the 12 months (points, discounts)\n"
            "programme_fee = None  # a fixed cost of the programme over the 12 months (software, staff)\n"
            "margin_rate = None  # gross margin as a share of revenue, for shops without unit costs\n"
            "pre_months = 6  # months of history a member needs before joining to count in the effect\n"
            "interactive = True  # False renders everything statically (reports)\nlocale = None  # how figures are written: de, sv, nb, en-GB, ...; None: English (en)\n"
            "results_path = None  # where the report collects this notebook's headlines",
            metadata={"tags": ["parameters"]},
        ),
        code("import aovlab\n\naovlab.widgets.setup(interactive, locale)"),
        load_cell(LOYALTY_TABLES),
        md(
            "## The answer\n\nWhere the members' larger orders come from (who joins, or what "
            "joining did), how joining changed the order rate, and whether the programme pays "
            "for itself. Without a stated cost, the answer is the most it may cost a member "
            "to pay. The sections below show each part."
        ),
        code(
            CHECK
            + "answer = aovlab.loyalty.impact(\n    shop, "
            + period
            + ", cost_per_member=cost_per_member,\n"
            "    fee=programme_fee, margin_rate=margin_rate, pre_months=pre_months,\n)\nanswer"
        ),
        md(
            "## Members against non-members\n\nCustomers who ordered in the period, split by "
            "membership at its end: their AOV, how often they ordered, their revenue and margin "
            "per customer and their repeat rate, each with its 95 % interval. The customer is "
            "the unit of every interval (one customer's orders are alike). This is a "
            "comparison: it does not say what the programme did."
        ),
        code(CHECK + "answer.members"),
        code('answer.chart("members")'),
        md(
            "## What joining changed\n\nEach member is compared with their own months before "
            "joining and with customers who had not joined (yet) in the same calendar months: a "
            "difference-in-differences by joining month, so that a member who joins later is a "
            "comparison customer until then, never after. Effects are measured in ratios "
            "(seasons and customers' own habits multiply), from the month after joining (members "
            "often join with an order), and their intervals come from resampling customers. The "
            "chart follows members from `pre_months` before joining. Those months anchor the "
            "counterfactual, so the two lines agree there in total by design; they show how "
            "steady members were before joining. After month 0, the gap is the programme's effect."
        ),
        code(CHECK + "answer.effect"),
        code('answer.chart("event")'),
        md(
            "## How much of the gap is selection\n\nAfter joining, members' orders differ from "
            "those of customers who had not joined in the same months by some amount per order. "
            "Part of it was already there before they joined (who joins); the rest is what "
            "joining added. The members-against-non-members gap of the period is shown beside "
            "it: it also counts members' orders from before they joined."
        ),
        code(CHECK + "answer.split"),
        code('answer.chart("gap")'),
        md(
            "## Retention by cohort\n\nCustomers grouped by the month of their first order: the "
            "share of each cohort that ordered again one, two, three ... months later, and the "
            "same curve for members and non-members (membership at the data's end, so again a "
            "comparison). Months not complete yet are left blank, never counted as zero."
        ),
        code(
            CHECK
            + 'retention = aovlab.results.attempt("Retention", aovlab.loyalty.retention, shop)\nretention'
        ),
        code("retention.chart()"),
        code('retention.chart("curve")'),
        md(
            "## Customer lifetime value\n\nAOV says what one order is worth; CLV what a customer "
            "is. Two classic models describe each customer: BG/NBD for how many more orders they "
            "place (and whether they are still a customer) and Gamma-Gamma for what their orders "
            "are worth. To check them, they are first fitted to the orders before "
            "`calibration_end` and their prediction compared with what customers ordered after "
            "it. The CLV itself comes from the models fitted to all the data: the expected "
            "margin of the next 12 months per customer, for members and non-members, and "
            "CLV : CAC when an acquisition cost is given (acquiring a customer should cost less "
            "than they bring)."
        ),
        code(
            CHECK
            + 'value = aovlab.results.attempt(\n    "Customer lifetime value", aovlab.loyalty.clv, shop, calibration_end,\n    cac=cac, margin_rate=margin_rate,\n)\nvalue'
        ),
        code("value.chart()"),
        code('value.chart("holdout")'),
        md(
            "## Does the programme pay?\n\nThe margin the members' orders earned beyond what the "
            "same members would have earned without joining (the estimated effects on basket and "
            "order rate, applied to their revenue after joining), against the programme's cost: "
            "`cost_per_member` for every enrolled member and a fixed `programme_fee`. The "
            "interval of the effect is carried through to the net return and the ROI. Without "
            "a cost, the break-even cost per member says how much the programme may cost."
        ),
        code(CHECK + "answer.programme"),
        code('answer.chart("return")'),
        md(
            "## Explore\n\nChoose the period, where the CLV holdout check starts, and the "
            "programme's cost per member: the comparison, the CLV check and the return follow."
        ),
        code(
            "aovlab.widgets.loyalty_explorer(\n    shop, interactive, answer.effect, current=current, "
            "calibration_end=calibration_end,\n    cost_per_member=cost_per_member, fee=programme_fee, "
            "margin_rate=margin_rate, cac=cac,\n)"
        ),
        code("aovlab.report.save_results(results_path, answer, retention, value)"),
    ]
    return _notebook(cells, needs=("customer_ids",))


#: The loyalty notebook needs the customers table; lines and catalogue give the margin.
LOYALTY_TABLES = ("orders", "lines", "customers", "catalog")


#: The bundle notebook needs order lines and the catalogue (costs), nothing else.
BUNDLE_TABLES = ("orders", "lines", "catalog")


#: The pricing notebook needs no customers table.
PRICING_TABLES = ("orders", "lines", "catalog", "traffic")


def _notebook(
    cells: list[nbformat.NotebookNode], needs: tuple[str, ...] = ()
) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with stable cell ids.

    ``needs``: what the data must have for the report to run it (aovlab.report.NEEDS);
    without it the report skips the notebook and its page says what it needs.
    """
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number:02d}"  # stable ids: a rebuild changes nothing
    nb = new_notebook(cells=cells)
    if needs:
        nb.metadata["aovlab"] = {"needs": list(needs)}
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


NOTEBOOKS = {
    "00_kpi_primer.ipynb": primer,
    "01_aov_drivers.ipynb": aov_drivers,
    "02_segment_breakdown.ipynb": segment_breakdown,
    "03_price_sensitivity.ipynb": price_sensitivity,
    "04_bundle_margin.ipynb": bundle_margin,
    "05_loyalty_impact.ipynb": loyalty_impact,
}


def execute(path: Path) -> None:
    """Run a notebook on the sample data with static output, as committed to the repo.

    papermill's injected cell is removed again afterwards, so a person who opens the
    notebook and runs it gets the defaults of the parameters cell (interactive=True).
    """
    import papermill as pm

    from aovlab.report import _clean

    pm.execute_notebook(
        str(path),
        str(path),
        parameters={"interactive": False},
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    _clean(nb)
    nbformat.write(nb, path)


def main(args: list[str]) -> None:
    run = "--execute" in args
    names = [a for a in args if not a.startswith("--")]
    for name, build in NOTEBOOKS.items():
        if names and name not in names:
            continue
        path = ROOT / "notebooks" / name
        nbformat.write(build(), path)
        if run:
            execute(path)
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
