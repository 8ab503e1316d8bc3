"""spark-submit entry point for the `query` step; see `campaign-revenue query -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["query", *sys.argv[1:]]))
