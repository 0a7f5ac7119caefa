"""Catalog service: tiered service institutions, standardised service items, search and
supply–demand matching."""
