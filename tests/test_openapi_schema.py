"""The schema the frontend's API types are generated from (frontend/openapi.json) is the one the backend
serves: a change to a view or serializer fails here until the schema and the types are regenerated
(the frontend's own test then checks the types against the schema)."""
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "frontend" / "openapi.json"
REGENERATE = "make api-types"


def test_the_committed_schema_is_the_one_the_backend_serves(tmp_path):
    served = tmp_path / "openapi.json"
    call_command("spectacular", format="openapi-json", file=str(served))
    assert served.read_text() == COMMITTED.read_text(), f"frontend/openapi.json is stale; regenerate: {REGENERATE}"
