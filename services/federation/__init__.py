"""Federation: the hub's node registry and trust anchor, and national read models."""
