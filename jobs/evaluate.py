"""spark-submit entry point for the `evaluate` step; see `campaign-revenue evaluate -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
