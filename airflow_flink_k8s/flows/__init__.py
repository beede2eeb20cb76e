"""I/O sequences for one task step (launch, teardown, wait), built from the hooks and decided by the core; no
Airflow imports."""
