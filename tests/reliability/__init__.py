"""The reliability suite: faults, hostile input, load and secret hygiene (docs/reliability.md)."""
