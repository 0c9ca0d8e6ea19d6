"""How gunicorn serves shebao; read by `make run` and by the inquiry benchmark.

Pages and API calls are short and CPU-bound, so the default is one
single-threaded worker process per core plus one (to cover a worker waiting
on the database): threads in one process share one interpreter lock and
queue behind each other, and a threaded worker keeps idle keep-alive
connections that make some clients wait much longer than others. Measured
with 20 clients on two cores (`shebao bench --only inquiry`): p99 38 ms this
way against 95 ms with threaded workers.

A synchronous worker is busy for the whole of a request, so behind the
internet put a buffering proxy (nginx) in front of it, so that a slow phone
connection does not hold a worker; `timeout` is long enough for the largest
download (a production file) on a slow link.
"""

import os

workers = int(os.environ.get("SHEBAO_WEB_WORKERS") or (os.cpu_count() or 1) + 1)
# More than one thread switches gunicorn to its threaded worker class.
threads = int(os.environ.get("SHEBAO_WEB_THREADS") or 1)
graceful_timeout = 10
timeout = 120
