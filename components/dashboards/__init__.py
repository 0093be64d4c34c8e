"""Shared dashboards: the Amazon Managed Grafana workspace and its dashboards (grafana.py),
and a CloudWatch dashboard per AWS region (cloudwatch.py)."""
