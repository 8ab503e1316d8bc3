"""spark-submit entry point for the `adapt` step; see `campaign-revenue adapt -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["adapt", *sys.argv[1:]]))
