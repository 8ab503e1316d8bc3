"""spark-submit entry point for the `graph` step; see `campaign-revenue graph -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["graph", *sys.argv[1:]]))
