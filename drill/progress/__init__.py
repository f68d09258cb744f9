"""What drill remembers: the progress store, spaced repetition and the statistics over them.

See drill.progress.store for the store's public API. Importing this package is cheap; the
modules below it import what they need.
"""
