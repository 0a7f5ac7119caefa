"""The shared service kit: every Puhui service imports these modules, none copies them.

config · server (bootstrap, health, reflection, signals) · interceptors (errors, metrics,
tracing, caller identity) · errors · metrics · tracing · logs · db · migrations · kafka ·
outbox · inbox (consumer) · redis · auth · pagination · ids.

No module here does I/O at import time.
"""
