"""campaign-revenue: per-campaign 30-day revenue, incrementality and budget moves."""

__version__ = "0.1.0"
