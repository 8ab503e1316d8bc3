"""spark-submit entry point for the `snapshots` step; see `campaign-revenue snapshots -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["snapshots", *sys.argv[1:]]))
