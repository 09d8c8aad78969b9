"""End-to-end tests: a real Airflow deployment (api-server, scheduler, dag-processor, triggerer)."""
