"""spark-submit entry point for the `demo` step; see `campaign-revenue demo -h`."""

import sys

from campaign_revenue.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
