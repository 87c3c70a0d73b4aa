"""Reading a Prometheus page in tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


def value(page: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels`` (0 when none)."""
    total = 0.0
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def families(page: str) -> set[str]:
    """The metric families a page declares (``# TYPE`` lines), samples or not."""
    return {family.name for family in text_string_to_metric_families(page)}


def sample_names(page: str) -> set[str]:
    """Every sample name on the page (``x_total``, ``x_bucket``, ...)."""
    return {s.name for f in text_string_to_metric_families(page) for s in f.samples}


def label_values(page: str, name: str, label: str) -> set[str]:
    return {
        s.labels[label]
        for f in text_string_to_metric_families(page)
        for s in f.samples
        if s.name == name and label in s.labels
    }
