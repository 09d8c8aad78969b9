"""The DCS v2 migration API as data: endpoints, call builders, models, statuses, signing, retries.

Nothing here does I/O or imports Airflow's hooks: the hooks (:mod:`huaweicloud_dcs_provider.hooks`)
send what these modules build, and read answers with them.
"""
