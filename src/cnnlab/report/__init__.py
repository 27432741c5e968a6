"""The tour (every experiment, one after another) and its self-contained HTML report, which can be
rendered again from its saved numbers in another language (:func:`read_report`)."""

from cnnlab.report.tour import TourEntry, read_report, run_tour, write_report

__all__ = ["run_tour", "write_report", "read_report", "TourEntry"]
