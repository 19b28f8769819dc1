"""Weekly schedules the tests share: one written out once, so a test's meaning does not
hang on which copy it imported."""

WEEKEND = {"time_zone": "Europe/Oslo",
           "windows": [{"days": ["sat", "sun"], "from": "08:00", "until": "20:00"}]}
"""Saturdays and Sundays, 08:00-20:00 in Oslo (UTC+1 in winter, +2 in summer)."""
