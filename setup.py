"""campaign-revenue: 30-day campaign revenue, incrementality and budget allocation."""

from setuptools import find_packages, setup

# One version set that resolves together (see README, "Versions").
SPARK = [
    "pyspark==4.2.0",
    "delta-spark==4.4.0",
    "graphframes-py==0.12.3",
    "pandas>=2.2,<3",
    "pyarrow>=15",
    "numpy>=1.26",
    "scipy>=1.11",
]
# Tracking and the flat baselines: light enough for every install.
ML = [
    "mlflow==3.17.2",
    "lightgbm>=4.3",
]
# The graph model: torch from PyPI is the CUDA build (GBs); it runs on CPU too.
GNN = [
    "torch==2.13.0",
    "torch-geometric==2.8.1",
    "ray[train]==2.60.0",
]

setup(
    name="campaign-revenue",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.11,<3.12",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    package_data={"campaign_revenue": ["**/*.lark", "**/*.md"]},
    install_requires=SPARK
    + [
        "pydantic>=2.5,<3",
        "pyyaml>=6",
        "lark>=1.1,<2",
        "tqdm>=4.66",
        "psutil>=5.9",
    ],
    extras_require={
        "ml": ML,
        "gnn": GNN,
        "dev": [
            "pytest>=8",
            "hypothesis>=6.100",
            "duckdb>=1.0",
            "deltalake>=0.20",
            # drives Debian's Chromium in the report test; no browser download
            "playwright>=1.45",
        ],
    },
    entry_points={"console_scripts": ["campaign-revenue=campaign_revenue.cli:main"]},
)
