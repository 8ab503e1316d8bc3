"""spark-submit entry point for the `allocate` step; see `campaign-revenue allocate -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["allocate", *sys.argv[1:]]))
