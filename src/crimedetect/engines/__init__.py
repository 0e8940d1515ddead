"""Scan engines beyond the local one.

The local engine is :func:`crimedetect.scan.run_scan` (one machine, streaming). The engines
here run the same scan on a distributed engine and give the same flags:

- :mod:`crimedetect.engines.spark`: Apache Spark (``crimedetect scan --engine spark``).

Every engine uses the same detection pipeline (:class:`crimedetect.detect.Pipeline`), crime
index (:class:`crimedetect.reconcile.CrimeIndex`) and :func:`crimedetect.reconcile.reconcile`;
none re-implements a stage. Engines are imported lazily so that ``import crimedetect`` never
needs PySpark or Java.
"""
