"""spark-submit entry point for the `report` step; see `campaign-revenue report -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["report", *sys.argv[1:]]))
