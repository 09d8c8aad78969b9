"""Checks on the Redis data itself, with the ``redis`` client: verification and pre-flight rules.

* :mod:`.sides`: where a migration's source or target answers, and a connection to it (a single
  Redis, or a Redis Cluster through redis-py's cluster client);
* :mod:`.pacing`: a command-rate cap per side, so a check never crowds out production traffic;
* :mod:`.keys`: key enumeration (``SCAN`` on every primary), seeded sampling, safe key display;
* :mod:`.values`: element-by-element comparison of one key's value, in chunks;
* :mod:`.compare`: one batch of keys compared on both sides (type, TTL, length, value);
* :mod:`.report`: what was found, by kind, with examples and no value;
* :mod:`.verify`: the verification run (databases, both directions, re-check rounds, progress);
* :mod:`.preflight_reasons`: what DCS's FAQ says a migration needs (thresholds, reasons, actions);
* :mod:`.preflight_rules`: those rules applied to the facts read from the servers.

Nothing here is imported when a DAG is parsed.
"""
