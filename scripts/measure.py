#!/usr/bin/env python3
"""Runs one command and prints its wall time and peak resident memory as JSON on stdout.
Usage: measure.py [--stdout FILE] -- COMMAND [ARG...]"""
import json, os, resource, subprocess, sys, time

args = sys.argv[1:]
out = subprocess.DEVNULL
if args[:1] == ["--stdout"]:
    out = open(args[1], "w")
    args = args[2:]
if args[:1] == ["--"]:
    args = args[1:]
start = time.perf_counter()
proc = subprocess.run(args, stdout=out, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": elapsed, "max_rss_mib": peak_kib / 1024, "status": proc.returncode,
                  "stderr": proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] }))
sys.exit(proc.returncode)
