"""What Huawei's DCS documentation says a working online migration needs: the thresholds, why
each pre-flight rule matters, and what to do when it fails (the text of the rules' rows).

:mod:`.preflight_rules` applies them; this module holds the facts from the docs, so a changed
FAQ figure or wording is changed here only.
"""

from __future__ import annotations

#: FAQ dcs-migration-211125001: ``repl-timeout`` of at least 300 s on the source...
MIN_REPL_TIMEOUT = 300
#: ... and replica (slave) output buffer limits of about 20 % of the source's maxmemory.
MIN_BUFFER_SHARE = 0.2
#: FAQ dcs-migration-0312003: the source must be Redis 3.0 or later.
MIN_SOURCE_VERSION = (3, 0)
#: User guide dcs-ug-210820001: the IP switch needs Redis 4.0+ on both instances, and a
#: single-node, master/standby or Proxy Cluster ``cache_mode``, basic edition.
MIN_IP_SWITCH_VERSION = (4, 0)
IP_SWITCH_MODES = ("single", "ha", "proxy")
BASIC_EDITIONS = ("basic", "generic", "standard")
PROFESSIONAL_EDITIONS = ("professional", "enterprise")
#: The commands an online migration replicates with, and the ACL categories they belong to.
SYNC_COMMANDS = ("sync", "psync")
SYNC_CATEGORIES = ("@all", "@admin", "@slow", "@dangerous")
MIB = 1024 * 1024

#: Why each rule matters (paraphrasing Huawei's DCS FAQ and user guide).
WHY = {
    "reachable": "the checks read the server itself; the migration VM must reach it too (user guide)",
    "sync-psync": "an online migration replicates like a replica: the source must allow SYNC and PSYNC "
    "(user guide, prerequisites)",
    "repl-timeout": "FAQ dcs-migration-211125001: a short repl-timeout makes the source log 'Disconnecting "
    "timedout slave' in the full copy, and replication starts over; 300 s advised",
    "replica-buffer": "FAQ dcs-migration-211125001: a replica output buffer under ~20% of maxmemory "
    "overflows in the full copy; the source drops the link and replication starts over",
    "versions": "FAQ dcs-migration-0312003: the source must be Redis 3.0+; newer to older may fail",
    "proxy-source": "migration matrix dcs-ug-0312036: a DCS Proxy Cluster cannot be an online source",
    "multi-db-cluster": "user guide dcs-migration-0312019: a Redis Cluster has DB0 only (duplicate keys "
    "across DBs keep the highest DB id's value); a Proxy Cluster target needs multi-DB enabled",
    "target-empty": "FAQ dcs-faq-11185: keys only on the target survive and shared keys are overwritten, "
    "so the sides differ; clear the target first",
    "target-memory": "user guide: the target's memory must be at least the source's used memory",
    "password-quote": "FAQ dcs-migration-0312003: a password with a single quote (') breaks the migration",
    "ip-switch": "user guide dcs-ug-210820001: basic-edition DCS Redis 4.0+, same port, single-node, "
    "master/standby or Proxy Cluster",
}
#: What to do, by ``rule:case``.
ACTIONS = {
    "reachable:missing": "check the instance id and the DCS connection's project",
    "reachable:down": "check the address, port, firewalls/security groups and the password",
    "reachable:record": "check the DCS credentials' permission to read the instance, or give 'addrs'",
    "reachable:vpc": "run the pre-flight on a worker in the instance's VPC, or check in the console",
    "sync-psync:missing": "remove the rename-command lines of SYNC/PSYNC and restart the source, or "
    "migrate by backup import or a scan-based tool",
    "sync-psync:denied": "allow both for the user the migration logs in as (ACL SETUSER <user> +sync +psync)",
    "sync-psync:unknown": "check by hand: COMMAND INFO sync psync; ACL DRYRUN <user> PSYNC ? -1",
    "repl-timeout:low": f"CONFIG SET repl-timeout {MIN_REPL_TIMEOUT} on the source (and in its config)",
    "replica-buffer:low": "CONFIG SET client-output-buffer-limit 'slave <hard> <soft> 60' on the source, "
    "both at least 20% of maxmemory (0: unlimited)",
    "versions:old": "upgrade the source first, or migrate by backup import",
    "versions:newer": "migrate into a target of the same or a newer Redis version",
    "proxy-source:proxy": "migrate by backup import (an RDB export), or with a scan-based tool",
    "multi-db-cluster:cluster": "move those keys into DB0 first (same names: the highest DB id wins), or "
    "migrate into a single-node or master/standby target",
    "multi-db-cluster:proxy": "check that the Proxy Cluster target has multi-DB enabled, or move keys to DB0",
    "target-empty:keys": "empty the target (FLUSHALL) or pick another; require_empty_target=False keeps them",
    "target-memory:small": "scale the target up, or pick a larger one",
    "password-quote:quote": "change that password (server and Airflow connection) to one without '",
    "ip-switch:no": "switch the clients by DNS or configuration instead of the IP switch",
    "ip-switch:unknown": "check in the console that both are basic-edition instances of a supported type",
}
