"""dossier-stats: online-filing statistics for one-stop-shop dossiers."""

__version__ = "0.1.0"
