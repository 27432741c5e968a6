"""The tour (every experiment, one after another) and its self-contained HTML report."""

from cnnlab.report.tour import TourEntry, run_tour, write_report

__all__ = ["run_tour", "write_report", "TourEntry"]
