"""The one place a SparkSession is built: Delta, GraphFrames, UTC, checkpoints.

Example:
    >>> from campaign_revenue.config import load_config
    >>> spark = build_spark(load_config("conf/local.yaml").spark)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from campaign_revenue.config import SparkConfig

log = logging.getLogger(__name__)

DELTA_SQL_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
JAVA_INSTALL_HINT = (
    "install a Java 17 runtime (Debian/Ubuntu: `apt-get install -y "
    "openjdk-17-jre-headless`; macOS: `brew install openjdk@17`) and put its "
    "`java` on PATH or set JAVA_HOME"
)


class JavaMissingError(RuntimeError):
    """No usable Java runtime for Spark."""


def java_version() -> int:
    """Major version of the ``java`` Spark will use.

    Raises:
        JavaMissingError: if no java is found or it is older than 17.
    """
    java_home = os.environ.get("JAVA_HOME")
    java = (
        str(Path(java_home) / "bin" / "java")
        if java_home
        else shutil.which("java")
    )
    if not java or not Path(java).exists():
        raise JavaMissingError(f"Spark needs Java 17, none was found: {JAVA_INSTALL_HINT}")
    out = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise JavaMissingError(f"cannot read the version of {java}: {JAVA_INSTALL_HINT}")
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    if major < 17:
        raise JavaMissingError(
            f"Spark 4 needs Java 17 or newer, {java} is Java {major}: {JAVA_INSTALL_HINT}"
        )
    return major


def _jar_cached(package: str, ivy_dir: Path) -> bool:
    group, artifact, version = package.split(":")
    return (ivy_dir / "jars" / f"{group}_{artifact}-{version}.jar").exists()


def package_served(package: str, repository: str, timeout: float = 5.0) -> bool:
    """Whether ``repository`` serves the POM of ``group:artifact:version``."""
    group, artifact, version = package.split(":")
    url = (
        f"{repository.rstrip('/')}/{group.replace('.', '/')}/{artifact}/"
        f"{version}/{artifact}-{version}.pom"
    )
    try:
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


def resolvable_packages(cfg: SparkConfig) -> list[str]:
    """Required packages plus the optional ones that are cached or served.

    An optional package the repository does not serve is left out with a
    warning instead of failing Ivy resolution, and with it the session start.
    """
    ivy_dir = Path(cfg.ivy_dir).expanduser()
    chosen = list(cfg.packages)
    for package in cfg.optional_packages:
        if _jar_cached(package, ivy_dir) or package_served(package, cfg.repository):
            chosen.append(package)
        else:
            warnings.warn(
                f"optional JVM package {package} is not served by "
                f"{cfg.repository}; continuing without it",
                RuntimeWarning,
                stacklevel=2,
            )
    return chosen


def jvm_class_available(spark, class_name: str) -> bool:
    """Whether ``class_name`` is on the session's JVM classpath."""
    try:
        loader = spark.sparkContext._jvm.java.lang.Thread.currentThread()
        loader.getContextClassLoader().loadClass(class_name)
        return True
    except Exception:  # py4j wraps ClassNotFoundException
        return False


def build_spark(cfg: SparkConfig, app_name: str | None = None):  # -> SparkSession
    """Build (or get) the SparkSession described by ``cfg``.

    Locally the Delta and GraphFrames jars come through ``spark.jars.packages``,
    resolved by Ivy into ``cfg.ivy_dir`` (outside the repository) once per
    machine. On a cluster the same section is passed through; with
    ``resolve_packages: false`` the runtime's own jars are used.

    Args:
        cfg: the ``spark`` section of the run configuration.
        app_name: overrides ``cfg.app_name`` (the job's step name, say).

    Returns:
        The active SparkSession with Delta's SQL extension and catalog set.
    """
    # Workers must run the same interpreter as the driver (STACK.md).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if cfg.master and cfg.master.startswith("local"):
        java_version()

    started = time.perf_counter()
    builder = SparkSession.builder.appName(app_name or cfg.app_name)
    if cfg.master:
        builder = builder.master(cfg.master)
    settings: dict[str, str] = {
        "spark.sql.extensions": DELTA_SQL_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.databricks.delta.schema.autoMerge.enabled": "true",
    }
    packages = resolvable_packages(cfg) if cfg.resolve_packages else []
    if packages:
        settings["spark.jars.packages"] = ",".join(packages)
        settings["spark.jars.ivy"] = str(Path(cfg.ivy_dir).expanduser())
    checkpoint = cfg.checkpoint_dir or str(
        Path(tempfile.gettempdir()) / "campaign-revenue-checkpoints"
    )
    settings["spark.checkpoint.dir"] = checkpoint
    settings.update(cfg.conf)
    for key, value in settings.items():
        builder = builder.config(key, value)

    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(cfg.log_level)
    spark.sparkContext.setCheckpointDir(checkpoint)
    log.info(
        "spark_session master=%s version=%s seconds=%.1f",
        cfg.master,
        spark.version,
        time.perf_counter() - started,
    )
    return spark


def main(argv: list[str] | None = None) -> int:
    """Resolve the JVM packages into the Ivy cache by starting one session."""
    import argparse

    from campaign_revenue.config import load_config
    from campaign_revenue.logs import setup_logging

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--conf", default="conf/local.yaml")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        spark = build_spark(load_config(args.conf).spark, app_name="fetch-jars")
    except JavaMissingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    jars = spark.sparkContext.getConf().get("spark.jars", "")
    print(f"JVM packages ready: {jars or 'none requested'}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
