"""One partition per registered portal: each portal is harvested, retried and scheduled on its own."""

from dagster import StaticPartitionsDefinition

from catalog.registry import load_registry

portal_partitions = StaticPartitionsDefinition(list(load_registry()))
