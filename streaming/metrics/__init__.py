"""Prometheus metrics of the job driver (job.py) and of the look-up service (service.py).

Conventions: one ``scout_`` prefix, base units (seconds, bytes), ``_total`` counters, and only
bounded labels (topic, partition, reason, route template, status code; never an influencer).
"""
