"""Browser views of tracking storages, tracks and runs."""
