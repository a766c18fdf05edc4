"""Read a lake written by `espi ingest` with the Python `deltalake` and
`polars` packages (no espi code) and check it against expectations.

usage: read_lake.py LAKE CONVERTED_READINGS_DIR FEED_NAME...

The readings table must equal the latest-only conversion of all the feeds
together (same keys, same values), hold each key once, be partitioned by
month, and its history must name the feeds in ingest order.
"""

import glob
import json
import sys

import polars as pl
from deltalake import DeltaTable

lake, converted, feeds = sys.argv[1], sys.argv[2], sys.argv[3:]
columns = ["usage_point", "meter_reading", "start", "value_raw", "value", "entry_updated", "quality"]
keys = ["usage_point", "meter_reading", "start"]


def normalised(frame):
    return (
        frame.select(columns)
        .with_columns(pl.col("usage_point", "meter_reading").cast(pl.String))
        .sort(keys)
    )


table = DeltaTable(f"{lake}/readings")
assert table.metadata().partition_columns == ["month"], table.metadata().partition_columns
lake_rows = pl.read_delta(f"{lake}/readings")
assert lake_rows.select(keys).is_duplicated().sum() == 0, "a key twice in the lake"
months = lake_rows.select(pl.col("start").dt.strftime("%Y-%m")).to_series()
assert (months == lake_rows["month"]).all(), "month is not the UTC month of start"

expected = pl.concat([pl.read_parquet(f) for f in sorted(glob.glob(f"{converted}/*.parquet"))])
got, want = normalised(lake_rows), normalised(expected)
assert got.height == want.height, (got.height, want.height)
assert got.equals(want), got.join(want, on=keys, how="anti").head()

history = table.history()
names = [f["name"] for commit in reversed(history) for f in commit.get("espi.feeds", [])]
assert names == feeds, (names, feeds)
log = pl.read_delta(f"{lake}/ingest_log")
assert sorted(log["feed"].to_list()) == sorted(feeds), log

print(json.dumps({"rows": got.height, "versions": len(history), "months": sorted(set(months))}))
