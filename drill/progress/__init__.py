"""What drill remembers: the progress store, spaced repetition and the statistics over them.

See drill.progress.store for the store's public API. Importing this package is cheap; the
modules below it import what they need.
"""

# How many never-seen questions a scheduled quiz brings in per day, unless --new says otherwise.
DEFAULT_NEW_PER_DAY = 10
