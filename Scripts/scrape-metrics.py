#!/usr/bin/env python3
"""Scrapes a TinyFleet coordinator's GET /metrics and prints it as JSON, parsed with prometheus_client's own
text-format parser (what Prometheus' Python ecosystem uses), so a malformed exposition fails here.

    python3 Scripts/scrape-metrics.py http://127.0.0.1:7421/metrics
    -> {"content_type": "...", "samples": [{"name": "tinyfleet_devices", "labels": {"status": "online"}, "value": 2.0}, ...]}
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    url = sys.argv[1]
    with urllib.request.urlopen(url, timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    samples = []
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            samples.append({"name": sample.name, "labels": dict(sample.labels), "value": sample.value})
    json.dump({"content_type": content_type, "families": families, "samples": samples}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
