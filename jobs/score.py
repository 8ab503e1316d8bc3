"""spark-submit entry point for the `score` step; see `campaign-revenue score -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
