import os
import sys

from django.core.wsgi import get_wsgi_application

# A web worker's threads mostly wait on PostgreSQL; each one back from a statement waits for the GIL, by default
# up to 5 ms per switch. At 1 ms the annotation API's p99 at 80 % load fell from 130–360 ms to 45–113 ms, for
# about a tenth of its saturated throughput (bench/RESULTS.md, the annotation API).
sys.setswitchinterval(float(os.environ.get("LIFT_GIL_SWITCH_INTERVAL_MS", "1")) / 1000)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lift.settings.production")
application = get_wsgi_application()
