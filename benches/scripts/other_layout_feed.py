#!/usr/bin/env python3
"""A Bulk feed written independently of `espi gen`, in another layout: every
ESPI element `espi:`-prefixed, tab indentation, CRLF line ends (or none),
ReadingQuality on about one reading in twenty, a cost on every third usage
point's readings. For checking the harness's ratios on bytes the project's
own generator did not shape. READINGS_PER_DAY (96 by default: 15-minute
data; 24 hourly, 1 a daily read) sets how many readings each usage point's
one day holds: the fewer, the more usage points (and metadata) per byte.

usage: benches/scripts/other_layout_feed.py SIZE_MB OUT [crlf|lf|compact] [READINGS_PER_DAY]

Prints the usage points, readings and the sum of the raw values written
(for checking a conversion against).
"""
import random
import sys

BASE = "https://api.example.com/DataCustodian/espi/1_1/resource"
DAY = 1717225200  # 2024-06-01T00:00:00-07:00


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    target = int(float(sys.argv[1]) * 1e6)
    style = sys.argv[3] if len(sys.argv) > 3 else "crlf"
    nl = {"crlf": "\r\n", "lf": "\n", "compact": ""}[style]
    per_day = int(sys.argv[4]) if len(sys.argv) > 4 else 96
    if per_day < 1 or 86400 % per_day:
        sys.exit("READINGS_PER_DAY must divide 86400")
    length = 86400 // per_day

    def ind(n):
        return "" if style == "compact" else "\t" * n

    rnd = random.Random(42)
    with open(sys.argv[2], "w", newline="") as out:
        w = out.write

        def entry(href, up, title, body, related=None):
            w(f"{ind(1)}<entry>{nl}{ind(2)}<id>urn:uuid:{rnd.getrandbits(64):016x}</id>{nl}")
            w(f'{ind(2)}<link rel="self" href="{href}"/>{nl}{ind(2)}<link rel="up" href="{up}"/>{nl}')
            if related:
                w(f'{ind(2)}<link rel="related" href="{related}"/>{nl}')
            w(f"{ind(2)}<title>{title}</title>{nl}")
            w(f"{ind(2)}<published>2024-06-02T00:00:00Z</published>{nl}")
            w(f"{ind(2)}<updated>2024-06-02T00:00:00Z</updated>{nl}")
            w(f"{ind(2)}<content>{nl}{body}{ind(2)}</content>{nl}{ind(1)}</entry>{nl}")

        def leaf(depth, name, value):
            return f"{ind(depth)}<espi:{name}>{value}</espi:{name}>{nl}"

        w(f'<?xml version="1.0" encoding="UTF-8"?>{nl}')
        w(f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">{nl}')
        w(f"{ind(1)}<id>urn:uuid:bulk</id>{nl}{ind(1)}<title>Bulk</title>{nl}")
        w(f"{ind(1)}<updated>2024-06-02T00:00:00Z</updated>{nl}")
        entry(
            f"{BASE}/LocalTimeParameters/1",
            f"{BASE}/LocalTimeParameters",
            "DST",
            f"{ind(3)}<espi:LocalTimeParameters>{nl}"
            + leaf(4, "dstEndRule", "B40E2000")
            + leaf(4, "dstOffset", 3600)
            + leaf(4, "dstStartRule", "360E2000")
            + leaf(4, "tzOffset", -28800)
            + f"{ind(3)}</espi:LocalTimeParameters>{nl}",
        )
        points = readings = total = 0
        while out.tell() < target:
            points += 1
            n = points
            sub = f"{BASE}/Subscription/{1000 + n}"
            up = f"{sub}/UsagePoint/{900000 + n}"
            mr = f"{up}/MeterReading/1"
            rt = f"{BASE}/ReadingType/{n}"
            entry(
                up,
                f"{sub}/UsagePoint",
                "UsagePoint",
                f"{ind(3)}<espi:UsagePoint>{nl}{ind(4)}<espi:ServiceCategory>{nl}"
                + leaf(5, "kind", 0)
                + f"{ind(4)}</espi:ServiceCategory>{nl}{ind(3)}</espi:UsagePoint>{nl}",
            )
            entry(mr, f"{up}/MeterReading", "MeterReading", f"{ind(3)}<espi:MeterReading/>{nl}", rt)
            entry(
                rt,
                f"{BASE}/ReadingType",
                "ReadingType",
                f"{ind(3)}<espi:ReadingType>{nl}"
                + leaf(4, "accumulationBehaviour", 4)
                + leaf(4, "commodity", 1)
                + leaf(4, "flowDirection", 1)
                + leaf(4, "intervalLength", length)
                + leaf(4, "powerOfTenMultiplier", -3)
                + leaf(4, "uom", 72)
                + f"{ind(3)}</espi:ReadingType>{nl}",
            )
            parts = [
                f"{ind(3)}<espi:IntervalBlock>{nl}{ind(4)}<espi:interval>{nl}"
                + leaf(5, "duration", 86400)
                + leaf(5, "start", DAY)
                + f"{ind(4)}</espi:interval>{nl}"
            ]
            for i in range(per_day):
                value = rnd.randrange(0, 5000)
                total += value
                readings += 1
                cost = leaf(5, "cost", value * 31) if n % 3 == 0 else ""
                quality = ""
                if rnd.random() < 0.05:
                    quality = (
                        f"{ind(5)}<espi:ReadingQuality>{nl}"
                        + leaf(6, "quality", 8)
                        + f"{ind(5)}</espi:ReadingQuality>{nl}"
                    )
                parts.append(
                    f"{ind(4)}<espi:IntervalReading>{nl}{cost}{quality}"
                    f"{ind(5)}<espi:timePeriod>{nl}"
                    + leaf(6, "duration", length)
                    + leaf(6, "start", DAY + length * i)
                    + f"{ind(5)}</espi:timePeriod>{nl}"
                    + leaf(5, "value", value)
                    + f"{ind(4)}</espi:IntervalReading>{nl}"
                )
            parts.append(f"{ind(3)}</espi:IntervalBlock>{nl}")
            entry(f"{mr}/IntervalBlock/1", f"{mr}/IntervalBlock", "IntervalBlock", "".join(parts))
        w(f"</feed>{nl}")
    print(f"usage points {points}, readings {readings}, value sum {total}")


if __name__ == "__main__":
    main()
