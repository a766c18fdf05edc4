#!/usr/bin/env python3
"""Independent reference extractor for Green Button / NAESB ESPI XML files.

Produces per-file summaries (reading counts, time span, exact sums per
ReadingType group) that the Rust project's tests compare against.  Python 3.11
standard library only; written independently of the Rust code.

Usage:
    python3 tools/reference_extract.py FILE... > out.json   # JSON list, one object per file
    python3 tools/reference_extract.py --write-expected [SAMPLE_DIR] [OUT_DIR]
        # one <basename>.json per sample (defaults: /work/shared/espi-samples/public,
        # testdata/expected next to this script's repo)

Choices made where the brief leaves room (keep the Rust side in step):
  * Entries are all Atom `entry` elements anywhere in the tree (the root itself
    when it is an entry).  Resources are the children of an entry's Atom
    `content` whose namespace is ESPI, none or Atom.  One `content` may hold
    SEVERAL IntervalBlock elements (common in the samples): each is a block of
    its own sharing the entry's links.  Readings are the IntervalReading
    children of such blocks; an IntervalReading anywhere else is not counted.
  * A reading without a `value` element is still a reading: it counts in
    `readings` and its group's `count` but adds nothing to raw_sum/scaled_sum
    (ryanmaule__DownLoadMyData_1.xml has 48 of them).
  * `cost_raw_sum` is "0" and `cost_count` 0 when a group has no cost.
  * UsagePoint identity of a reading = its MeterReading key up to the LAST
    "/MeterReading" (the whole key when it has none); `usage_points` counts the
    distinct identities.  `meter_readings` counts the distinct rule-1 keys,
    whether or not a MeterReading entry with that self href exists.
  * first_start_us/last_start_us are null when no reading has a known start.
    A start is unknown only when it must be chained (no timePeriod/start) and
    the block has no interval/start or the previous reading has no duration.
  * Decimal strings: plain notation, no exponent, no trailing fractional zeros,
    no "." for integers ("1500", "0.001", "-2.5"); never "-0".
  * A file that is not well-formed yields {"file": ..., "error": "<parser message>"}.
  * Href normalisation strips ALL leading and trailing "/" characters.

Count check against MANIFEST.tsv column n_IntervalReading: all 134 well-formed
files agree exactly (the manifest counts every IntervalReading element,
including the 48 value-less ones above; no sample has an IntervalReading outside
an IntervalBlock inside an entry's content).  mburns__1hrLP_32DaysM.xml is not
well-formed ("junk after document element"); the manifest lists 0 for it.
"""
import json
import math
import os
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
RESOURCE_NS = (ESPI, "", ATOM)  # lenient: ESPI resources may sit in these namespaces
KILO_UOMS = {72, 38, 73, 63, 71, 61}  # Wh, W, VArh, VAr, VAh, VA -> k-units (/1000)
MAX_ABS_MULTIPLIER = 300


def split_tag(tag):
    """'{uri}local' -> (uri, local); 'local' -> ('', local).  Comments/PIs -> (None, None)."""
    if not isinstance(tag, str):
        return None, None
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return uri, local
    return "", tag


def children(el, local, namespaces=RESOURCE_NS):
    """Direct children of `el` with local name `local` in one of `namespaces`."""
    out = []
    for c in el:
        uri, name = split_tag(c.tag)
        if name == local and uri in namespaces:
            out.append(c)
    return out


def child(el, local, namespaces=RESOURCE_NS):
    found = children(el, local, namespaces) if el is not None else []
    return found[0] if found else None


def text_at(el, *path):
    """Stripped text of the element at child path `path` below `el`, or None."""
    for name in path:
        el = child(el, name)
        if el is None:
            return None
    return (el.text or "").strip()


def int_at(el, *path):
    t = text_at(el, *path)
    return int(t) if t not in (None, "") else None


def dec_at(el, *path):
    t = text_at(el, *path)
    return Decimal(t) if t not in (None, "") else None


def norm_href(href):
    """Whitespace, scheme+host and leading/trailing '/' removed."""
    h = (href or "").strip()
    if "://" in h:
        rest = h.split("://", 1)[1]
        slash = rest.find("/")
        h = rest[slash:] if slash >= 0 else ""
    return h.strip("/")


def fraction_to_str(x):
    """Exact Fraction with a 2^a*5^b denominator -> normalised decimal string."""
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    num, den = abs(x.numerator), x.denominator
    k = 0
    while (10 ** k) % den:  # smallest k with den | 10^k; terminates for 2^a*5^b
        k += 1
        if k > 2000:
            raise ValueError("non-terminating decimal: %r" % x)
    digits = str(num * (10 ** k // den))
    if k:
        digits = digits.rjust(k + 1, "0")
        whole, frac = digits[:-k], digits[-k:].rstrip("0")
        digits = whole + ("." + frac if frac else "")
    return sign + digits


class Entry:
    """One Atom entry: its normalised links and the ESPI resources in its content."""

    def __init__(self, el):
        self.links = []  # (rel, normalised href) in document order
        for link in children(el, "link", (ATOM,)):
            if link.get("href") is not None:
                self.links.append(((link.get("rel") or "").strip(), norm_href(link.get("href"))))
        self.resources = []  # (local name, element)
        for content in children(el, "content", (ATOM,)):
            for c in content:
                uri, name = split_tag(c.tag)
                if uri in RESOURCE_NS:
                    self.resources.append((name, c))

    def href(self, rel):
        for r, h in self.links:
            if r == rel:
                return h
        return None

    def hrefs(self, rel):
        return [h for r, h in self.links if r == rel]


def meter_reading_key(entry):
    """Rule 1: the block's up (else self) href, cut before the last '/IntervalBlock'."""
    up, self_ = entry.href("up"), entry.href("self")
    for h in (up, self_):
        if h is not None and "/IntervalBlock" in h:
            return h[: h.rfind("/IntervalBlock")]
    if up is not None:
        return up
    return self_ if self_ is not None else ""


def usage_point_identity(mr_key):
    i = mr_key.rfind("/MeterReading")
    return mr_key[:i] if i >= 0 else mr_key


def extract(path):
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        return {"file": name, "error": str(e)}

    entries = [Entry(el) for el in root.iter("{%s}entry" % ATOM)]
    # Index MeterReading and ReadingType entries by normalised self href (first wins).
    mr_by_self, rt_by_self, mr_entries = {}, {}, []
    for e in entries:
        kinds = {n for n, _ in e.resources}
        if "MeterReading" in kinds:
            mr_entries.append(e)
            if e.href("self") is not None:
                mr_by_self.setdefault(e.href("self"), e)
        if "ReadingType" in kinds and e.href("self") is not None:
            rt_el = next(r for n, r in e.resources if n == "ReadingType")
            rt_by_self.setdefault(e.href("self"), rt_el)

    def find_meter_reading(e, key):
        """Rule 2: self href == key, else a MeterReading related to the block's up/self."""
        if key in mr_by_self:
            return mr_by_self[key]
        targets = {h for h in (e.href("up"), e.href("self")) if h is not None}
        for mr in mr_entries:
            if targets.intersection(mr.hrefs("related")):
                return mr
        return None

    def find_reading_type(mr):
        """Rule 3: the first related href of the MeterReading that is a ReadingType's self."""
        for h in mr.hrefs("related"):
            if h in rt_by_self:
                return rt_by_self[h]
        return None

    groups = {}  # (flow, uom, mult) -> accumulators
    starts_us, mr_keys, up_ids, total = [], set(), set(), 0
    for e in entries:
        blocks = [r for n, r in e.resources if n == "IntervalBlock"]
        if not blocks:
            continue
        key = meter_reading_key(e)
        mr = find_meter_reading(e, key)
        rt = find_reading_type(mr) if mr is not None else None
        if rt is None:
            flow = uom = mult = None
            interval_length = None
        else:
            flow, uom = int_at(rt, "flowDirection"), int_at(rt, "uom")
            mult = int_at(rt, "powerOfTenMultiplier")
            mult = 0 if mult is None else mult  # ReadingType present, element absent -> 0
            interval_length = dec_at(rt, "intervalLength")
        g = groups.setdefault((flow, uom, mult), {"count": 0, "raw": 0, "cost": 0, "cost_n": 0})
        for block in blocks:
            prev_start = dec_at(block, "interval", "start")  # chaining seed for timePeriod-less readings
            prev_dur = Decimal(0)
            for ir in children(block, "IntervalReading"):
                total += 1
                mr_keys.add(key)
                up_ids.add(usage_point_identity(key))
                start = dec_at(ir, "timePeriod", "start")
                if start is None:  # no timePeriod/start: follows the previous reading
                    start = None if prev_start is None or prev_dur is None else prev_start + prev_dur
                dur = dec_at(ir, "timePeriod", "duration")
                if dur is None:
                    dur = interval_length
                prev_start, prev_dur = start, dur
                if start is not None:
                    starts_us.append(math.floor(start * 1000000))  # floor to whole microseconds
                g["count"] += 1
                value = int_at(ir, "value")
                if value is not None:
                    g["raw"] += value
                cost = int_at(ir, "cost")
                if cost is not None:
                    g["cost"] += cost
                    g["cost_n"] += 1

    out_groups = []
    none_first = lambda v: (v is not None, v if v is not None else 0)
    for (flow, uom, mult) in sorted(groups, key=lambda k: tuple(none_first(v) for v in k)):
        g = groups[(flow, uom, mult)]
        if g["count"] == 0:
            continue  # an IntervalBlock entry without readings
        scaled = None
        if mult is not None and abs(mult) <= MAX_ABS_MULTIPLIER:
            s = Fraction(g["raw"]) * Fraction(10) ** mult  # exact: value x 10^multiplier
            if uom in KILO_UOMS:
                s /= 1000
            scaled = fraction_to_str(s)
        out_groups.append({
            "flow_direction": flow, "uom": uom, "power_of_ten_multiplier": mult,
            "count": g["count"], "raw_sum": str(g["raw"]), "scaled_sum": scaled,
            "cost_raw_sum": str(g["cost"]), "cost_count": g["cost_n"],
        })
    return {
        "file": name,
        "readings": total,
        "first_start_us": min(starts_us) if starts_us else None,
        "last_start_us": max(starts_us) if starts_us else None,
        "groups": out_groups,
        "usage_points": len(up_ids),
        "meter_readings": len(mr_keys),
    }


def main(argv):
    if argv and argv[0] == "--write-expected":
        here = os.path.dirname(os.path.abspath(__file__))
        src = argv[1] if len(argv) > 1 else "/work/shared/espi-samples/public"
        dst = argv[2] if len(argv) > 2 else os.path.join(here, "..", "testdata", "expected")
        os.makedirs(dst, exist_ok=True)
        for name in sorted(os.listdir(src)):
            result = extract(os.path.join(src, name))
            with open(os.path.join(dst, name + ".json"), "w", encoding="utf-8") as f:
                f.write(json.dumps(result, indent=2) + "\n")
        return 0
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps([extract(p) for p in argv], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
