"""spark-submit entry point for the `ingest` step; see `campaign-revenue ingest -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
