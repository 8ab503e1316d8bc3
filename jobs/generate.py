"""spark-submit entry point for the `generate` step; see `campaign-revenue generate -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
