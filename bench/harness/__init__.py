"""Driving a whole ``newsflow run`` from outside: the pipeline as a child process, article files
made from real text, resource sampling and the load scenario. Shared by the benches
(``bench/load.py``) and the fault tests (``tests/faults``); bench code never imports tests.
"""
