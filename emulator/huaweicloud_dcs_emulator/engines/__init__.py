"""How data "moves" in the emulator.

:mod:`.protocol` is the seam between the task lifecycle and the data movement (what an engine is
told, what it reports); :mod:`.simulated` moves nothing and derives its figures from the clock;
the ``redis_*`` modules and :mod:`.keyspace_events` really copy keys between two local Redis
servers; :mod:`.auto` picks one of the two per task; :mod:`.factory` builds the emulator's engine.
Engines that connect only ever connect to loopback addresses (:mod:`.loopback`).
"""
