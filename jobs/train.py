"""spark-submit entry point for the `train` step; see `campaign-revenue train -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
