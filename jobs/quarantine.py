"""spark-submit entry point for the `quarantine` step; see `campaign-revenue quarantine -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["quarantine", *sys.argv[1:]]))
