"""Price layer assets: raw bars/ticks/quotes ingestion, staging bars, the universal stream."""
