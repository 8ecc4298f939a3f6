"""Reading files into :class:`~aovlab.model.ShopData`.

Canonical CSV and Parquet files are read here; readers for platform exports (Shopify,
WooCommerce, invoice lines, European spreadsheets) plug in beside this module.
"""

from aovlab.io.canonical import SHOP_FILE, load, read_table

__all__ = ["SHOP_FILE", "load", "read_table"]
